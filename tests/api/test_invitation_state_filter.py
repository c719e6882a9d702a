"""`GET /api/invitations/?state=`: the filter takes every state the API shows, "delivered" included.

An anonymous survey's sent, responded and expired invitations (and its failed ones interrupted while
sending) all read "delivered", so that a row's state never tells who answered. The filter goes by
the state as shown: "delivered" lists those, and named surveys' sent, responded and expired ones too
(surveys.selectors.invitations_in_state_shown, as the admin's state filter)."""

import pytest

from surveys.models import InvitationState, SuppressionReason
from surveys.sending import INTERRUPTED
from tests.factories import InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

URL = "/api/invitations/"


@pytest.fixture
def api(api_client_as):
    return api_client_as("admin")


def _invitations(survey, *states):
    """One invitation of `survey` in each state, "interrupted" being a failed one interrupted while sending."""
    rows = {}
    for state in states:
        extra = {"suppression_reason": SuppressionReason.NO_EMAIL} if state == "suppressed" else {}
        if state == "interrupted":
            extra = {"state": InvitationState.FAILED, "last_error": INTERRUPTED}
        rows[state] = InvitationFactory(survey=survey, **{"state": state, **extra})
    return rows


def _ids(response):
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


def test_it_lists_an_anonymous_surveys_invitations_by_the_delivered_state_they_show(api):
    invitation = InvitationFactory(survey=SurveyFactory(anonymous=True), state=InvitationState.SENT)
    assert api.get(f"{URL}{invitation.pk}/").json()["state"] == "delivered"

    assert _ids(api.get(URL, {"state": "delivered"})) == [invitation.pk]


def test_delivered_takes_the_delivered_rows_of_any_survey_and_no_others(api):
    delivered = ("sent", "responded", "expired")
    others = ("queued", "sending", "failed", "bounced", "suppressed")
    anonymous = _invitations(SurveyFactory(anonymous=True), *delivered, "interrupted", *others)
    named = _invitations(SurveyFactory(anonymous=False), *delivered, "interrupted", *others)

    expected = [anonymous[state].pk for state in (*delivered, "interrupted")] + [named[s].pk for s in delivered]
    assert _ids(api.get(URL, {"state": "delivered"})) == sorted(expected)
    # A named survey's interrupted row reads "failed", and is found by that state.
    assert _ids(api.get(URL, {"state": "failed"})) == sorted([anonymous["failed"].pk, named["failed"].pk,
                                                               named["interrupted"].pk])


def test_the_schema_lists_delivered_among_the_state_filters_values(api_client_as):
    schema = api_client_as("viewer").get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/invitations/"]["get"]["parameters"]

    (state,) = [parameter for parameter in parameters if parameter["name"] == "state"]
    assert "delivered" in state["schema"]["enum"]
    assert set(state["schema"]["enum"]) == set(schema["components"]["schemas"]["StateEnum"]["enum"])
