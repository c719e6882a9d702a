"""POST /api/surveys/{id}/invite/: a hand-picked list survey invites the customers an API client
names, in one launch, under a launch's suppression rules (README "NPS surveys": "a hand-picked list
(invited through the API)")."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounting.models import Customer
from reports.integrity import integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.launch import survey_launch, surveys_launch_due
from surveys.models import (
    AudienceKind,
    Invitation,
    InvitationState,
    Launch,
    LaunchChannel,
    SuppressedAddress,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from tests.concurrency import second_waited_for_first
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

NOBODY_SUPPRESSED = {"opted_out": 0, "throttled": 0, "no_email": 0, "bounced_before": 0}


@pytest.fixture
def list_survey():
    return SurveyFactory(name="Key accounts", audience=AudienceKind.LIST)


@pytest.fixture
def analyst_api(api_client_as):
    return api_client_as("analyst")


def invite(api, survey, customers):
    return api.post(reverse("api-survey-invite", args=[survey.pk]), {"customers": customers}, format="json")


def rows(launch_id) -> dict[str, tuple[str, str]]:
    invitations = Invitation.objects.filter(launch_id=launch_id).select_related("customer")
    return {i.customer.external_id: (i.state, i.suppression_reason) for i in invitations}


def test_it_invites_each_listed_customer_once_in_one_launch(analyst_api, list_survey):
    CustomerFactory(external_id="KA-1")
    CustomerFactory(external_id="KA-2")
    CustomerFactory(external_id="NOT-LISTED")

    response = invite(analyst_api, list_survey, ["KA-1", "KA-2", "KA-1"])

    assert response.status_code == 201, response.json()
    body = response.json()
    launch = Launch.objects.get(survey=list_survey)
    assert body["id"] == launch.pk
    assert (body["audience"], body["audience_size"], body["via"]) == ("list", 2, "api")
    assert (body["queued"], body["suppressed"]) == (2, NOBODY_SUPPRESSED)
    assert (launch.audience, launch.via) == (AudienceKind.LIST, LaunchChannel.API)
    assert launch.launched_by.groups.get().name == "analyst"
    assert rows(launch.pk) == {"KA-1": ("queued", ""), "KA-2": ("queued", "")}
    list_survey.refresh_from_db()
    assert list_survey.status == SurveyStatus.ACTIVE


def test_it_answers_as_a_launch_answers(analyst_api, list_survey):
    CustomerFactory(external_id="KA-1")
    launched = analyst_api.post(reverse("api-survey-launch", args=[SurveyFactory().pk]), {}, format="json")
    invited = invite(analyst_api, list_survey, ["KA-1"])
    assert (launched.status_code, invited.status_code) == (201, 201)
    assert launched.json().keys() == invited.json().keys()


def test_it_suppresses_listed_customers_with_a_launchs_reasons(analyst_api, list_survey):
    CustomerFactory(external_id="OPTED", survey_opt_out=True)
    CustomerFactory(external_id="NO-MAIL", email="")
    bounced = CustomerFactory(external_id="BOUNCED")
    SuppressedAddress.objects.create(email=bounced.email)
    InvitationFactory(customer=CustomerFactory(external_id="RECENT"), sent_at=timezone.now())  # another survey
    CustomerFactory(external_id="OK")

    response = invite(analyst_api, list_survey, ["OPTED", "NO-MAIL", "BOUNCED", "RECENT", "OK"])

    assert response.status_code == 201, response.json()
    assert rows(response.json()["id"]) == {
        "OPTED": ("suppressed", "opted_out"), "NO-MAIL": ("suppressed", "no_email"),
        "BOUNCED": ("suppressed", "bounced_before"), "RECENT": ("suppressed", "throttled"), "OK": ("queued", ""),
    }
    assert response.json()["suppressed"] == {"opted_out": 1, "throttled": 1, "no_email": 1, "bounced_before": 1}


def test_it_queues_sending_after_commit(analyst_api, list_survey, django_capture_on_commit_callbacks, mailoutbox):
    CustomerFactory(external_id="KA-1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = invite(analyst_api, list_survey, ["KA-1"])
    assert response.status_code == 201 and len(callbacks) == 1
    assert Invitation.objects.get(survey=list_survey).state == InvitationState.SENT
    assert len(mailoutbox) == 1


def test_it_refuses_the_whole_list_naming_every_unknown_id(analyst_api, list_survey):
    CustomerFactory(external_id="KA-1")

    response = invite(analyst_api, list_survey, ["KA-1", "NOPE-2", "NOPE-1", "NOPE-2"])

    assert response.status_code == 400
    assert response.json() == {"customers": [
        "No customer has the external id 'NOPE-1'.", "No customer has the external id 'NOPE-2'.",
    ]}
    assert not Launch.objects.exists() and not Invitation.objects.exists()


@pytest.mark.parametrize("body", [{}, {"customers": []}, {"customers": "KA-1"}, {"customers": [""]},
                                  {"customers": ["KA-1"], "segment": "SMB"}])
def test_it_refuses_a_body_that_is_not_a_list_of_ids(analyst_api, list_survey, body):
    CustomerFactory(external_id="KA-1")
    response = analyst_api.post(reverse("api-survey-invite", args=[list_survey.pk]), body, format="json")
    assert response.status_code == 400 and set(response.json()) <= {"customers", "segment"}
    assert not Launch.objects.exists()


def test_it_takes_at_most_ten_thousand_ids(analyst_api, list_survey):
    response = invite(analyst_api, list_survey, [f"C{n}" for n in range(10_001)])
    assert response.status_code == 400 and "customers" in response.json()


def test_it_invites_ten_thousand_customers_in_one_request(analyst_api, list_survey):
    Customer.objects.bulk_create(
        Customer(external_id=f"C{n}", email=f"c{n}@customer.example.com") for n in range(10_000)
    )
    response = invite(analyst_api, list_survey, [f"C{n}" for n in range(10_000)])
    assert response.status_code == 201, response.json()
    assert (response.json()["audience_size"], response.json()["queued"]) == (10_000, 10_000)


def test_a_survey_of_another_audience_is_launched_instead(analyst_api):
    CustomerFactory(external_id="KA-1")
    survey = SurveyFactory(audience=AudienceKind.ALL)
    response = invite(analyst_api, survey, ["KA-1"])
    assert response.status_code == 400
    assert f"/api/surveys/{survey.pk}/launch/" in response.json()["non_field_errors"][0]
    assert not Launch.objects.exists()


@pytest.mark.parametrize("settings_", [{"status": SurveyStatus.CLOSED}, {"kind": SurveyKind.TRANSACTIONAL},
                                       {"imported": True}])
def test_it_refuses_a_survey_a_launch_refuses(analyst_api, settings_):
    CustomerFactory(external_id="KA-1")
    survey = SurveyFactory(audience=AudienceKind.LIST, **settings_)
    response = invite(analyst_api, survey, ["KA-1"])
    assert response.status_code == 400 and "non_field_errors" in response.json()
    assert not Launch.objects.exists()


def test_it_refuses_a_closed_survey_as_a_launch_does(analyst_api):
    CustomerFactory(external_id="KA-1")
    survey = SurveyFactory(audience=AudienceKind.LIST, status=SurveyStatus.CLOSED)
    assert invite(analyst_api, survey, ["KA-1"]).json() == {"non_field_errors": ["This survey is closed."]}


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("analyst", 201), ("admin", 201)])
def test_it_takes_the_launch_permission(api_client_as, list_survey, role, status):
    CustomerFactory(external_id="KA-1")
    assert invite(api_client_as(role), list_survey, ["KA-1"]).status_code == status


def test_a_retried_request_emails_nobody_twice_while_the_first_is_queued(analyst_api, list_survey):
    CustomerFactory(external_id="KA-1")
    first = invite(analyst_api, list_survey, ["KA-1"]).json()
    again = invite(analyst_api, list_survey, ["KA-1"]).json()
    assert rows(first["id"]) == {"KA-1": ("queued", "")}
    assert rows(again["id"]) == {"KA-1": ("suppressed", "throttled")}


def test_a_customer_holding_an_open_link_is_not_invited_again_whatever_the_throttle(analyst_api):
    survey = SurveyFactory(audience=AudienceKind.LIST, throttle_days=0, expiry_days=30)
    long_ago = timezone.now() - dt.timedelta(days=20)
    InvitationFactory(survey=survey, customer=CustomerFactory(external_id="OPEN"), sent_at=long_ago)
    InvitationFactory(survey=survey, customer=CustomerFactory(external_id="ANSWERED"), sent_at=long_ago,
                      state=InvitationState.RESPONDED)
    InvitationFactory(survey=survey, customer=CustomerFactory(external_id="EXPIRED"), sent_at=long_ago,
                      expires_at=timezone.now() - dt.timedelta(minutes=1))

    response = invite(analyst_api, survey, ["OPEN", "ANSWERED", "EXPIRED"])

    assert rows(response.json()["id"]) == {
        "OPEN": ("suppressed", "throttled"), "ANSWERED": ("queued", ""), "EXPIRED": ("queued", ""),
    }


def test_a_relaunch_of_another_audience_keeps_its_own_throttle():
    # The open-link rule is the list's: a survey with no throttle relaunched reaches everybody again.
    survey = SurveyFactory(throttle_days=0)
    InvitationFactory(survey=survey, customer=CustomerFactory(external_id="OPEN"))
    launch = survey_launch(survey=survey)
    assert rows(launch.pk) == {"OPEN": ("queued", "")}


def test_launching_a_list_survey_points_to_the_invite_endpoint(analyst_api, list_survey):
    CustomerFactory()
    response = analyst_api.post(reverse("api-survey-launch", args=[list_survey.pk]), {}, format="json")
    assert response.status_code == 400
    assert f"/api/surveys/{list_survey.pk}/invite/" in response.json()["non_field_errors"][0]


def test_the_schedule_never_launches_a_list_survey(list_survey):
    CustomerFactory()
    # A list survey cannot be saved with a schedule; one due anyway (an old row) is still skipped.
    Survey.objects.filter(pk=list_survey.pk).update(next_launch_at=timezone.now() - dt.timedelta(days=1))
    assert surveys_launch_due() == []


def test_the_integrity_panel_flags_a_list_invited_through_the_api(analyst_api, list_survey, time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC))
    CustomerFactory(external_id="KA-1")
    assert invite(analyst_api, list_survey, ["KA-1"]).status_code == 201
    report = nps_report(period=parse_period("2025-Q2"))
    flag = {flag.code: flag for flag in integrity_flags(report)}["hand_picked"]
    assert flag.raised and "hand-picked list of 1" in flag.links[0][0]


# --- The survey page -----------------------------------------------------------------------------


def test_the_survey_page_names_the_endpoint_instead_of_a_launch_form(client_as, list_survey):
    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[list_survey.pk])).content.decode()
    assert reverse("surveys:survey-launch", args=[list_survey.pk]) not in page
    assert f"POST /api/surveys/{list_survey.pk}/invite/" in page


def test_the_survey_page_of_another_audience_keeps_its_launch_form(client_as):
    survey = SurveyFactory()
    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()
    assert reverse("surveys:survey-launch", args=[survey.pk]) in page and "/invite/" not in page


def test_a_closed_list_survey_page_says_it_is_closed(client_as):
    survey = SurveyFactory(audience=AudienceKind.LIST, status=SurveyStatus.CLOSED)
    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()
    assert "Not launched from here: This survey is closed." in page and "/invite/" not in page


# --- The schema ----------------------------------------------------------------------------------


def test_the_schema_documents_the_endpoint_and_every_progress_key(api_client_as):
    api = api_client_as("admin")
    survey = SurveyFactory()
    InvitationFactory(survey=survey)
    progress = api.get(f"/api/surveys/{survey.pk}/").json()["progress"]
    schema = json.loads(api.get("/api/schema/", {"format": "json"}).content)
    assert set(progress) <= set(schema["components"]["schemas"]["Progress"]["properties"])
    assert "post" in schema["paths"]["/api/surveys/{id}/invite/"]


# --- Two requests at once (PostgreSQL) -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks need PostgreSQL")
def test_two_requests_at_once_email_a_customer_once(monkeypatch):
    monkeypatch.setattr("surveys.launch._enqueue_sending", lambda countdown=0, tell=None: None)
    CustomerFactory(external_id="KA-1")
    survey = SurveyFactory(audience=AudienceKind.LIST)

    def run():
        return survey_launch(survey=Survey.objects.get(pk=survey.pk), via=LaunchChannel.API, customers=["KA-1"])

    assert second_waited_for_first(run, run)

    first, second = survey.launches.order_by("id")
    assert rows(first.pk) == {"KA-1": ("queued", "")}
    assert rows(second.pk) == {"KA-1": ("suppressed", "throttled")}
