"""Mutation audit of the REST API layer: behaviour the existing tests left unpinned."""

import datetime as dt

import pytest

from accounting.forms import SEARCH_MAX_LENGTH
from accounting.imports import runner
from accounting.models import Customer, ImportStatus, RevenueEntry
from cxplatform.admin_guards import SEARCH_MAX_WORDS, SEARCH_REFUSED
from surveys.apis import MAX_DELAY_MINUTES
from surveys.models import Invitation, InvitationState, Response, Survey
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, reason

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/customers/", "/api/responses/"])
def test_the_search_cap_is_exact_in_characters_and_words(api_client_as, path):
    """`?search=` is refused one character and one word past the cap its message states
    ("at most 200 characters and 10 words"), and runs at exactly the cap."""
    api = api_client_as("analyst")

    at_length = "a" * SEARCH_MAX_LENGTH
    past_words = " ".join(["a"] * (SEARCH_MAX_WORDS + 1))
    assert api.get(path, {"search": at_length}).status_code == 200
    for refused in (at_length + "a", past_words):
        response = api.get(path, {"search": refused})
        assert response.status_code == 400, refused
        assert response.json() == {"search": [SEARCH_REFUSED]}


def test_a_customer_under_a_child_rolls_up_to_the_top_ancestor_when_created_by_api(api_client_as):
    """SPEC §2: a customer with a parent rolls up to its top ancestor. Created by the API under a
    division (itself under a group), its entity is the group, not the division."""
    group = CustomerFactory(external_id="GROUP")
    CustomerFactory(external_id="DIVISION", parent=group)

    response = api_client_as("analyst").post(
        "/api/customers/", {"external_id": "TEAM", "parent": "DIVISION"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["entity"] == "GROUP"
    assert Customer.objects.get(external_id="TEAM").entity_id == group.pk


def test_patching_only_the_reason_text_records_the_new_words(api_client_as):
    """A PATCH of `reason_text` alone is a new answer to the customer's current reason: the new
    text is stored and shown, not dropped behind a 200."""
    customer = CustomerFactory(external_id="OTH", reason=reason("other"), reason_text="a podcast")

    response = api_client_as("analyst").patch(
        f"/api/customers/{customer.pk}/", {"reason_text": "a radio ad"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["reason"], response.json()["reason_text"]) == ("other", "a radio ad")
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.reason.slug, customer.reason_text, customer.reason_source) == ("other", "a radio ad", "api")


def test_a_bulk_revenue_import_failing_on_the_server_is_a_500_not_a_400(api_client_as, monkeypatch):
    """A bulk import that fails for the server's own reason (not a bad row) answers 500 with the
    import's `failed` status and message, as the schema documents, and writes nothing: a 400 would
    tell the integration its data was wrong."""

    CustomerFactory(external_id="C1")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner, "_load", broken)
    api = api_client_as("analyst")
    api.raise_request_exception = False
    line = {"customer": "C1", "date": "2025-03-01", "amount": "10.00", "external_ref": "R1"}

    response = api.post("/api/revenue/", [line], format="json")

    assert response.status_code == 500
    assert response.json()["status"] == ImportStatus.FAILED
    assert response.json()["message"] == "Import failed: disk full"
    assert not RevenueEntry.objects.exists()


def test_an_anonymous_surveys_invitation_hides_when_it_was_answered_or_reminded(api_client_as):
    """SPEC §1: nobody sees which customer of an anonymous survey answered. Its invitation names
    the customer, so the API never gives its responded_at or reminder_sent_at (a reminder goes to
    non-responders only)."""


    when = dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC)
    invitation = InvitationFactory(
        survey=SurveyFactory(anonymous=True), state=InvitationState.RESPONDED,
        responded_at=when, reminder_sent_at=when,
    )

    body = api_client_as("admin").get(f"/api/invitations/{invitation.pk}/").json()

    assert (body["customer"], body["responded_at"], body["reminder_sent_at"]) == (
        invitation.customer.external_id, None, None
    )


def test_a_trigger_delayed_past_thirty_days_is_refused(api_client_as):
    """`delay_minutes` is at most 30 days (MAX_DELAY_MINUTES): one minute more is a 400 naming
    the field, and nobody is invited."""
    survey = SurveyFactory(kind="transactional")
    CustomerFactory(external_id="C-1")
    body = {"survey": survey.pk, "customer": "C-1", "touchpoint": "web", "delay_minutes": MAX_DELAY_MINUTES + 1}

    response = api_client_as("analyst").post("/api/invitations/", body, format="json")

    assert response.status_code == 400 and "delay_minutes" in response.json()
    assert not Invitation.objects.exists()


def test_an_empty_patch_leaves_a_followed_up_response_followed_up(api_client_as):
    """A PATCH that sends neither `followed_up` nor a note changes nothing: a response followed up
    stays followed up (only `followed_up: false` reopens it)."""


    done = dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC)
    response = ResponseFactory(score=3, followed_up_at=done, follow_up_note="called back")

    answer = api_client_as("analyst").patch(f"/api/responses/{response.pk}/", {}, format="json")

    assert answer.status_code == 200, answer.content
    assert Response.objects.get(pk=response.pk).followed_up_at is not None


def test_a_survey_edit_by_api_moves_its_updated_at(api_client_as):
    """A PATCH of a survey's settings stamps `updated_at`, as every other edit does."""


    survey = SurveyFactory(name="Before")
    Survey.objects.filter(pk=survey.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    response = api_client_as("admin").patch(f"/api/surveys/{survey.pk}/", {"name": "After"}, format="json")

    assert response.status_code == 200, response.content
    survey.refresh_from_db()
    assert survey.name == "After" and survey.updated_at.year > 2020


def test_the_nps_report_defaults_to_every_answer_and_refuses_an_unknown_survey(api_client_as):
    """`/api/reports/nps/` counts every answer unless `counting=latest` is asked for (SPEC §5:
    all responses is the default), and a survey id that does not exist is a 400 naming `survey`,
    not a report of every survey."""


    survey = SurveyFactory(kind="relationship")
    customer = CustomerFactory()
    for day, score in ((10, 10), (20, 2)):
        when = dt.datetime(2025, 6, day, tzinfo=dt.UTC)
        invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=when)
        ResponseFactory(invitation=invitation, score=score, answered_at=when)
    api = api_client_as("viewer")

    assert api.get("/api/reports/nps/", {"period": "2025-06"}).json()["responses"] == 2
    assert api.get("/api/reports/nps/", {"period": "2025-06", "counting": "latest"}).json()["responses"] == 1
    unknown = api.get("/api/reports/nps/", {"period": "2025-06", "survey": survey.pk + 1000})
    assert unknown.status_code == 400 and list(unknown.json()) == ["survey"]


def test_the_nps_report_refuses_a_type_other_than_the_surveys_own(api_client_as):
    """Relationship and transactional series are never mixed (SPEC §5): a survey with the other
    type is a 400 naming `type`."""
    survey = SurveyFactory(kind="relationship")

    response = api_client_as("viewer").get(
        "/api/reports/nps/", {"period": "2025", "survey": survey.pk, "type": "transactional"}
    )

    assert response.status_code == 400 and list(response.json()) == ["type"]


def test_an_earned_growth_quarter_compares_with_the_prior_quarter_by_default(api_client_as):
    """SPEC §3: P is the previous period of the same length; a year earlier only with `compare=yoy`."""
    api = api_client_as("viewer")

    assert api.get("/api/reports/earned-growth/", {"period": "2025-Q3"}).json()["prior_period"] == "2025-Q2"
    yoy = api.get("/api/reports/earned-growth/", {"period": "2025-Q3", "compare": "yoy"}).json()
    assert yoy["prior_period"] == "2024-Q3"
