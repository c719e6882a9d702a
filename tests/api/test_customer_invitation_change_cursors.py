"""/api/customers/ and /api/invitations/ take `changed_after=<updated_at>,<id>` as /api/responses/
does (tests/api/test_response_change_cursor.py): an incremental pull (a CRM syncing customers, an
integration following invitation states) that neither skips nor repeats a row while rows change
between its requests. An anonymous survey's invitations keep its rules: an answer, a reminder or an
expiry, which the list does not show, does not list the row again either.

The write paths that move each table's updated_at have their own tests:
tests/accounting/test_customer_updated_at_paths.py, tests/surveys/test_invitation_updated_at_paths.py.
"""

import datetime as dt

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.urls import reverse
from django.utils import timezone

from accounting.models import Customer
from surveys import sending
from surveys.models import Invitation, InvitationState
from tests.api.change_pulls import pull_changed
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

START = "2000-01-01T00:00:00Z,0"
ENDPOINTS = ["customer", "invitation"]


def _make(endpoint, n, **fields):
    if endpoint == "customer":
        return CustomerFactory.create_batch(n, **fields)
    return InvitationFactory.create_batch(n, survey=fields.pop("survey", None) or SurveyFactory(), **fields)


def _model(endpoint):
    return Customer if endpoint == "customer" else Invitation


def _list_url(endpoint):
    return reverse(f"api-{endpoint}-list")


def _pull(api, endpoint, cursor, on_page=None, **params):
    return pull_changed(api, _list_url(endpoint), cursor, on_page, **params)


def _bounce(invitation_id):
    """The provider's bounce webhook for one invitation (surveys.webhooks)."""
    event = AnymailTrackingEvent(
        event_type="bounced", timestamp=timezone.now(), message_id="esp-1", recipient="x@example.com",
        metadata={"invitation_id": str(invitation_id)}, description="550 5.1.1 user unknown",
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_row_changed_after_it_was_read_is_listed_again_and_no_row_is_skipped(api_client_as, endpoint):
    rows = _make(endpoint, 120)
    api = api_client_as("analyst")

    def change_a_row_already_read(page):
        if endpoint == "customer":
            reply = api.patch(reverse("api-customer-detail", args=[page[3]["id"]]), {"name": "Renamed"}, format="json")
            assert reply.status_code == 200, reply.content
        else:
            _bounce(page[3]["id"])

    pulled = _pull(api, endpoint, START, on_page=change_a_row_already_read)

    ids = [row["id"] for row in pulled]
    assert set(ids) == {row.pk for row in rows}
    assert len(ids) == 121  # the changed row once more, as it now is
    assert pulled[-1]["name" if endpoint == "customer" else "state"] == (
        "Renamed" if endpoint == "customer" else InvitationState.BOUNCED
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_rows_changed_at_the_same_moment_are_each_listed_once(api_client_as, endpoint):
    rows = _make(endpoint, 120)
    _model(endpoint).objects.update(updated_at=dt.datetime(2025, 3, 10, 12, 0, 0, 123456, tzinfo=dt.UTC))

    ids = [row["id"] for row in _pull(api_client_as("analyst"), endpoint, START)]

    assert ids == sorted(row.pk for row in rows)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_cursor_reads_updated_at_as_the_api_writes_it(api_client_as, settings, endpoint):
    settings.TIME_ZONE = "Europe/Paris"  # updated_at shown with an offset and microseconds
    first, second = _make(endpoint, 2)
    moment = dt.datetime(2025, 3, 10, 12, 0, 0, 654321, tzinfo=dt.UTC)
    _model(endpoint).objects.filter(pk__in=[first.pk, second.pk]).update(updated_at=moment)
    api = api_client_as("analyst")
    shown = api.get(reverse(f"api-{endpoint}-detail", args=[first.pk])).json()["updated_at"]

    after_first = _pull(api, endpoint, f"{shown},{first.pk}")

    assert shown == "2025-03-10T13:00:00.654321+01:00"
    assert [row["id"] for row in after_first] == [second.pk]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_page_keeps_the_lists_shape_and_the_other_filters_apply(api_client_as, endpoint):
    if endpoint == "customer":
        wanted, other = CustomerFactory(segment="Enterprise"), CustomerFactory(segment="SMB")
        narrowed = {"segment": "Enterprise"}
    else:
        wanted, other = InvitationFactory(), InvitationFactory()
        narrowed = {"survey": wanted.survey_id}
    api = api_client_as("analyst")

    body = api.get(_list_url(endpoint), {"changed_after": START, **narrowed}).json()

    assert set(body) == set(api.get(_list_url(endpoint)).json()) == {"count", "next", "previous", "results"}
    assert (body["count"], [row["id"] for row in body["results"]]) == (1, [wanted.pk])
    assert other.pk not in [row["id"] for row in _pull(api, endpoint, START, **narrowed)]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "value",
    ["2025-03-10T12:00:00Z", "4711", "2025-03-10T12:00:00Z,", "2025-03-10T12:00:00Z,-1", "2025-03-10T12:00:00Z,x",
     "2025-02-30T12:00:00Z,1", "2025-03-10T12:00:00Z,١٢", f"2025-03-10T12:00:00Z,{2**63}"],
)
def test_a_bad_cursor_is_a_400_keyed_by_the_parameter(api_client_as, endpoint, value):
    response = api_client_as("analyst").get(_list_url(endpoint), {"changed_after": value})

    assert response.status_code == 400
    assert set(response.json()) == {"changed_after"}


@pytest.mark.parametrize(("endpoint", "ordering"), [("customer", "name"), ("invitation", "-sent_at")])
def test_an_ordering_with_the_cursor_is_refused(api_client_as, endpoint, ordering):
    response = api_client_as("analyst").get(_list_url(endpoint), {"changed_after": START, "ordering": ordering})

    assert response.status_code == 400
    assert "Leave ordering out" in response.json()["ordering"][0]


@pytest.mark.parametrize("path", ["/api/customers/", "/api/invitations/"])
def test_the_schema_documents_the_cursor_and_updated_at(api_client_as, path):
    schema = api_client_as("viewer").get("/api/schema/", {"format": "json"}).json()

    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert parameters["changed_after"]["schema"]["example"] == "2025-03-10T12:00:00.123456Z,4711"
    name = "Customer" if path == "/api/customers/" else "Invitation"
    assert schema["components"]["schemas"][name]["properties"]["updated_at"]["readOnly"] is True


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 403), ("analyst", 200), ("admin", 200)])
def test_the_roles_read_as_before(api_client_as, endpoint, role, status):
    """A bad cursor too: who may not read the list learns nothing of the parameter."""
    _make(endpoint, 1)
    api = api_client_as(role)

    assert api.get(_list_url(endpoint), {"changed_after": START}).status_code == status
    assert api.get(_list_url(endpoint), {"changed_after": "x"}).status_code == (400 if status == 200 else status)


# --- Anonymous surveys: what the list hides, the cursor does not show --------------------------------


def _rows_after(api, cursor, survey):
    return {row["id"]: row for row in _pull(api, "invitation", cursor, survey=survey.pk)}


def _cursor_after_all(api, survey):
    rows = _pull(api, "invitation", START, survey=survey.pk)
    return f"{rows[-1]['updated_at']},{rows[-1]['id']}"


def test_an_answer_to_an_anonymous_survey_lists_no_row_again(api_client_as, client, settings):
    settings.SURVEY_PUBLIC_RATE = "1000/m"
    anonymous, named = SurveyFactory(anonymous=True), SurveyFactory()
    answered, silent = InvitationFactory.create_batch(2, survey=anonymous)
    named_row = InvitationFactory(survey=named)
    api = api_client_as("analyst")
    before = _rows_after(api, START, anonymous)
    cursors = {survey.pk: _cursor_after_all(api, survey) for survey in (anonymous, named)}

    for row in (answered, named_row):
        assert client.post(f"/s/{row.token}/", {"score": 3}).status_code == 303

    assert _rows_after(api, cursors[anonymous.pk], anonymous) == {}
    after = _rows_after(api, cursors[named.pk], named)
    assert list(after) == [named_row.pk] and after[named_row.pk]["state"] == InvitationState.RESPONDED
    assert _rows_after(api, START, anonymous) == before  # answered and silent read alike, as before
    assert {(row["state"], row["responded_at"]) for row in before.values()} == {("delivered", None)}
    assert answered.pk in before and silent.pk in before


def test_a_reminder_or_an_expiry_of_an_anonymous_survey_lists_no_row_again(api_client_as, mailoutbox):
    long_ago = timezone.now() - dt.timedelta(days=4)
    anonymous = SurveyFactory(anonymous=True, reminder_days=3, expiry_days=10)
    reminded = InvitationFactory(survey=anonymous, sent_at=long_ago)
    expired = InvitationFactory(survey=anonymous, sent_at=long_ago, expires_at=timezone.now() - dt.timedelta(seconds=1))
    api = api_client_as("analyst")
    cursor = _cursor_after_all(api, anonymous)

    assert sending.send_reminders().sent == 1 and sending.expire_invitations() == 1

    assert _rows_after(api, cursor, anonymous) == {}
    reminded.refresh_from_db()
    expired.refresh_from_db()
    assert reminded.reminder_sent_at is not None and expired.state == InvitationState.EXPIRED


def test_the_state_filter_with_the_cursor_still_never_tells_who_answered(api_client_as):
    anonymous = SurveyFactory(anonymous=True)
    InvitationFactory(survey=anonymous, state=InvitationState.RESPONDED, responded_at=timezone.now())
    InvitationFactory(survey=anonymous)
    api = api_client_as("analyst")

    for state, count in [("responded", 0), ("sent", 0), ("delivered", 2)]:
        rows = _pull(api, "invitation", START, survey=anonymous.pk, state=state)
        assert len(rows) == count, state


def test_a_survey_made_anonymous_lists_every_row_again_under_one_moment(api_client_as):
    survey = SurveyFactory()
    answered = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, responded_at=timezone.now())
    silent = InvitationFactory(survey=survey, reminder_sent_at=timezone.now())
    api = api_client_as("analyst")
    cursor = _cursor_after_all(api, survey)

    reply = api.patch(reverse("api-survey-detail", args=[survey.pk]), {"anonymous": True}, format="json")

    assert reply.status_code == 200, reply.content
    after = _rows_after(api, cursor, survey)
    assert set(after) == {answered.pk, silent.pk}
    assert len({row["updated_at"] for row in after.values()}) == 1  # no longer the answer's moment
    assert {(row["state"], row["responded_at"], row["reminder_sent_at"]) for row in after.values()} == {
        ("delivered", None, None)
    }
