"""Anonymous surveys (SPEC §1): nobody, admins included, learns which customer gave which answer,
in the staff pages, the API, the CSV export or the Django admin. Aggregates and unlinked verbatims
stay visible."""

import csv
import io

import pytest
from django.urls import reverse

from surveys import sending
from surveys.models import Invitation, InvitationState
from surveys.selectors import invitations_in_state_shown
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET_ID, SECRET_NAME, SECRET_EMAIL = "CUST-SECRET", "Secret Person", "secret@customer.example.com"


@pytest.fixture
def survey():
    return SurveyFactory(name="Staff pulse", anonymous=True)


@pytest.fixture
def answer(survey):
    customer = CustomerFactory(external_id=SECRET_ID, name=SECRET_NAME, email=SECRET_EMAIL)
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED,
                                   reference="REF-SECRET")
    InvitationFactory(survey=survey, state=InvitationState.SENT)  # a non-responder beside it
    return ResponseFactory(invitation=invitation, score=2, reason="The manager shouts")


def _assert_hidden(text: str):
    for secret in (SECRET_ID, SECRET_NAME, SECRET_EMAIL, "REF-SECRET"):
        assert secret not in text


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_the_response_pages_hide_the_customer(client_as, answer, role):
    client = client_as(role)
    listing = client.get(reverse("surveys:response-list")).content.decode()
    detail = client.get(reverse("surveys:response-detail", args=[answer.pk])).content.decode()

    assert "The manager shouts" in listing and "The manager shouts" in detail
    _assert_hidden(listing)
    _assert_hidden(detail)
    assert "anonymous" in detail


def test_the_survey_page_shows_totals_but_no_invitation_rows(client_as, survey, answer):
    page = client_as("admin").get(reverse("surveys:survey-detail", args=[survey.pk]))

    _assert_hidden(page.content.decode())
    assert page.context["progress"].responded == 1
    assert page.context["progress"].audience == 2


def test_the_csv_export_leaves_the_customer_columns_empty(client_as, answer):
    response = client_as("admin").get(reverse("surveys:response-export"))

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    _assert_hidden(text)
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["customer"] == "" and row["customer_name"] == "" and row["reason"] == "The manager shouts"


def test_the_api_response_has_no_customer_or_invitation(api_client_as, answer):
    api = api_client_as("admin")
    listing = api.get(reverse("api-response-list"))
    detail = api.get(reverse("api-response-detail", args=[answer.pk]))

    for body in (listing.content.decode(), detail.content.decode()):
        _assert_hidden(body)
    assert detail.json()["customer"] is None and detail.json()["invitation"] is None
    assert detail.json()["reason"] == "The manager shouts"


def test_the_api_invitations_do_not_say_which_one_was_answered(api_client_as, survey, answer):
    api = api_client_as("admin")
    items = api.get(reverse("api-invitation-list"), {"survey": survey.pk}).json()["results"]

    assert {item["state"] for item in items} == {"delivered"}
    assert all(item["responded_at"] is None for item in items)
    answered = api.get(reverse("api-invitation-list"), {"survey": survey.pk, "state": "responded"}).json()
    assert answered["count"] == 0


def test_interrupted_invitations_do_not_tell_which_one_was_answered(client, api_client_as, survey):
    # Failed mid-send: the email may have arrived, and the one whose customer answers turns responded.
    answered, unanswered = (
        InvitationFactory(survey=survey, state=InvitationState.FAILED, sent_at=None, last_error=sending.INTERRUPTED)
        for _ in range(2)
    )
    assert client.post(f"/s/{answered.token}/", {"score": 3}).status_code == 303

    items = api_client_as("admin").get(reverse("api-invitation-list"), {"survey": survey.pk}).json()["results"]

    assert {item["id"]: item["state"] for item in items} == {answered.pk: "delivered", unanswered.pk: "delivered"}
    # The state filter the API and the admin are to use agrees: "failed" does not list the unanswered one.
    rows = Invitation.objects.filter(survey=survey)
    assert not invitations_in_state_shown(rows, "failed").exists()
    assert invitations_in_state_shown(rows, "delivered").count() == 2
    # The API's and the admin's state filters use it.
    failed = api_client_as("admin").get(reverse("api-invitation-list"), {"survey": survey.pk, "state": "failed"})
    assert failed.json()["results"] == []
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    listed = client.get(reverse("admin:surveys_invitation_changelist"), {"state": "failed"})
    assert listed.context["cl"].result_count == 0


def test_the_api_cannot_single_out_a_customer_by_filter(api_client_as, answer):
    api = api_client_as("admin")
    # No customer filter on responses: an unknown parameter is ignored, the answer stays unlinked.
    body = api.get(reverse("api-response-list"), {"customer": SECRET_ID}).content.decode()
    _assert_hidden(body)


def test_a_named_survey_still_shows_its_customers(client_as, api_client_as):
    named = ResponseFactory(invitation__survey=SurveyFactory(anonymous=False),
                            invitation__customer__external_id="NAMED-1")
    page = client_as("analyst").get(reverse("surveys:response-detail", args=[named.pk]))
    assert "NAMED-1" in page.content.decode()
    body = api_client_as("analyst").get(reverse("api-response-detail", args=[named.pk])).json()
    assert body["customer"] == "NAMED-1"


# --- Django admin --------------------------------------------------------------------------------


def test_the_admin_response_list_and_page_hide_the_customer(client_as, answer):
    client = client_as("admin")
    listing = client.get(reverse("admin:surveys_response_changelist"))
    change = client.get(reverse("admin:surveys_response_change", args=[answer.pk]))

    assert listing.status_code == 200 and change.status_code == 200
    _assert_hidden(listing.content.decode())
    _assert_hidden(change.content.decode())
    assert "The manager shouts" in change.content.decode()


def test_the_admin_response_search_does_not_match_customers(client_as, answer):
    listing = client_as("admin").get(reverse("admin:surveys_response_changelist"), {"q": SECRET_ID})
    assert listing.context["cl"].result_count == 0


def test_the_admin_response_history_hides_the_customer(client_as, answer):
    client = client_as("admin")
    history = client.get(reverse("admin:surveys_response_history", args=[answer.pk]))
    version = answer.history.first()
    past = client.get(reverse("admin:surveys_response_simple_history", args=[answer.pk, version.history_id]))

    assert history.status_code == 200
    _assert_hidden(history.content.decode())
    assert past.status_code == 403


def test_the_admin_invitations_do_not_say_which_one_was_answered(client_as, survey, answer):
    client = client_as("admin")
    listing = client.get(reverse("admin:surveys_invitation_changelist"), {"survey__id__exact": survey.pk})
    answered = client.get(reverse("admin:surveys_invitation_changelist"), {"state": "responded"})
    change = client.get(reverse("admin:surveys_invitation_change", args=[answer.invitation_id]))

    body = listing.content.decode()
    assert body.count('class="field-state_shown">delivered<') == 2
    assert 'class="field-state_shown">responded<' not in body
    assert answered.context["cl"].result_count == 0
    assert change.status_code == 200
    assert "Responded at" not in change.content.decode()


# Django's admin takes a lookup on any of a model's own fields from the URL unless told otherwise:
# each of these would pick out the invitation answered, or the customer behind an answer.
@pytest.mark.parametrize("admin_list, lookup", [
    ("surveys_invitation", {"state__exact": "responded"}),
    ("surveys_invitation", {"responded_at__isnull": "0"}),
    ("surveys_invitation", {"reminder_sent_at__isnull": "1"}),
    ("surveys_invitation", {"response__isnull": "0"}),
    ("surveys_invitation", {"response": "{answer}"}),
    ("surveys_response", {"customer": "{customer}"}),
    ("surveys_response", {"customer__id__exact": "{customer}"}),
    ("surveys_response", {"invitation": "{invitation}"}),
    ("accounting_customer", {"responses": "{answer}"}),
    ("accounting_customer", {"responses__isnull": "0"}),
])
def test_the_admin_lists_refuse_url_lookups_that_would_unmask_an_answer(client_as, survey, answer, admin_list,
                                                                       lookup):
    ids = {"answer": answer.pk, "customer": answer.customer_id, "invitation": answer.invitation_id}
    query = {key: value.format(**ids) for key, value in lookup.items()}

    listing = client_as("admin").get(reverse(f"admin:{admin_list}_changelist"), query)

    assert listing.status_code == 400
    _assert_hidden(listing.content.decode())


@pytest.mark.parametrize("admin_list, query", [
    ("surveys_invitation", {"survey__id__exact": "{survey}", "state": "delivered", "created_at__year": "{year}"}),
    ("surveys_invitation", {"suppression_reason__exact": "throttled", "survey__kind__exact": "relationship"}),
    ("surveys_response", {"category__exact": "detractor", "anonymous": "yes", "survey__id__exact": "{survey}"}),
    ("surveys_response", {"answered_at__year": "{year}", "q": "manager"}),
    ("accounting_customer", {"segment": "smb", "reason__kind__exact": "earned", "survey_opt_out__exact": "0"}),
])
def test_the_admin_lists_keep_their_declared_filters(client_as, survey, answer, admin_list, query):
    ids = {"survey": survey.pk, "year": answer.answered_at.year}
    query = {key: value.format(**ids) for key, value in query.items()}

    listing = client_as("admin").get(reverse(f"admin:{admin_list}_changelist"), query)

    assert listing.status_code == 200
    assert "?e=1" not in listing.get("Location", "")
