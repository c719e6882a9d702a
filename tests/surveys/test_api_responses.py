"""/api/responses/: list with the UI's filters, retrieve, PATCH for the follow-up only."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from surveys import responses as svc
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def answers():
    survey = SurveyFactory(name="NPS")
    return {
        "promoter": ResponseFactory(invitation__survey=survey, score=9, reason="Friendly", touchpoint="web",
                                    answered_at=DAY),
        "detractor": ResponseFactory(invitation__survey=survey, score=0, suggestion="Faster refunds",
                                     touchpoint="shop", answered_at=DAY + dt.timedelta(days=3)),
    }


def _ids(api, **params):
    response = api.get(reverse("api-response-list"), params)
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"band": "promoter"}, {"promoter"}),
        ({"band": "detractor"}, {"detractor"}),
        ({"touchpoint": "shop"}, {"detractor"}),
        ({"answered_after": "2025-03-11"}, {"detractor"}),
        ({"answered_before": "2025-03-10"}, {"promoter"}),
        ({"search": "refunds"}, {"detractor"}),
        ({"followed_up": "false"}, {"promoter", "detractor"}),
    ],
)
def test_it_filters_like_the_staff_page(api_client_as, answers, params, expected):
    assert _ids(api_client_as("analyst"), **params) == {answers[name].pk for name in expected}


def test_the_list_takes_no_query_per_row(api_client_as, django_assert_max_num_queries):
    ResponseFactory.create_batch(30, invitation__survey=SurveyFactory())
    api = api_client_as("analyst")
    with django_assert_max_num_queries(6):
        assert api.get(reverse("api-response-list")).json()["count"] == 30


def test_a_response_names_its_customer(api_client_as, answers):
    response = answers["promoter"]
    body = api_client_as("analyst").get(reverse("api-response-detail", args=[response.pk])).json()
    assert body["customer"] == response.customer.external_id
    assert body["invitation"] == response.invitation_id
    assert body["category"] == "promoter"


def test_patch_records_the_follow_up(api_client_as, answers):
    detractor = answers["detractor"]
    url = reverse("api-response-detail", args=[detractor.pk])

    body = api_client_as("analyst").patch(url, {"follow_up_note": "Refunded"}, format="json").json()

    assert body["follow_up_note"] == "Refunded"
    assert body["followed_up_at"] is not None and body["followed_up_by"]
    detractor.refresh_from_db()
    assert detractor.followed_up_at is not None


def test_patch_can_reopen(api_client_as, answers):
    url = reverse("api-response-detail", args=[answers["detractor"].pk])
    api = api_client_as("analyst")
    api.patch(url, {"follow_up_note": "Refunded"}, format="json")

    body = api.patch(url, {"followed_up": False}, format="json").json()

    assert body["followed_up_at"] is None and body["follow_up_note"] == "Refunded"


def test_patch_refuses_to_change_the_answer(api_client_as, answers):
    detractor = answers["detractor"]
    url = reverse("api-response-detail", args=[detractor.pk])

    response = api_client_as("admin").patch(url, {"score": 10, "follow_up_note": "x"}, format="json")

    assert response.status_code == 400 and "score" in response.json()
    detractor.refresh_from_db()
    assert detractor.score == 0 and detractor.follow_up_note == ""


# --- Incremental pulls: an answer edited within its window keeps its answered_at -----------------


def _answer_then_edit(survey):
    """Answered 9 at 09:00, edited to 2 at 11:00 (the customer re-posted the answer page)."""
    with time_machine.travel(DAY.replace(hour=9), tick=False):
        invitation = InvitationFactory(survey=survey, customer=CustomerFactory())
        svc.response_submit(invitation=invitation, score=9)
    invitation.refresh_from_db()
    with time_machine.travel(DAY.replace(hour=11), tick=False):
        return svc.response_submit(invitation=invitation, score=2, reason="changed my mind").response


def test_an_edited_answer_shows_when_it_changed(api_client_as):
    edited = _answer_then_edit(SurveyFactory())

    body = api_client_as("analyst").get(reverse("api-response-detail", args=[edited.pk])).json()

    assert (body["score"], body["answered_at"]) == (2, "2025-03-10T09:00:00Z")
    assert body["updated_at"] == "2025-03-10T11:00:00Z"


@pytest.mark.parametrize(
    ("updated_after", "found"),
    [
        ("2025-03-10T10:00:00Z", True),  # the last pull: after the answer, before its edit
        ("2025-03-10T12:00:00+02:00", True),  # the same moment with an offset
        ("2025-03-10T10:00:00", True),  # no offset: TIME_ZONE (UTC)
        ("2025-03-10T11:00:00Z", True),  # inclusive
        ("2025-03-10T11:00:01Z", False),
        ("2025-03-10", True),  # a date: from the start of that day
        ("2025-03-11", False),
    ],
)
def test_an_incremental_pull_finds_an_answer_edited_since(api_client_as, updated_after, found):
    edited = _answer_then_edit(SurveyFactory())

    assert _ids(api_client_as("analyst"), updated_after=updated_after) == ({edited.pk} if found else set())


@pytest.mark.parametrize(
    "value", ["10/03/2025", "2025-02-30", "2025-03-10T12:00:00 02:00", "2025-03-10T25:00Z", "0001-01-01T00:00+01:00"]
)
def test_a_bad_updated_after_is_a_400_keyed_by_the_parameter(api_client_as, value):
    response = api_client_as("analyst").get(reverse("api-response-list"), {"updated_after": value})

    assert response.status_code == 400
    assert set(response.json()) == {"updated_after"}


def test_the_list_orders_by_updated_at(api_client_as):
    survey = SurveyFactory()
    edited = _answer_then_edit(survey)
    with time_machine.travel(DAY.replace(hour=10), tick=False):
        later = ResponseFactory(invitation__survey=survey)  # answered after, changed before the edit
    api = api_client_as("analyst")

    by_answer = api.get(reverse("api-response-list")).json()["results"]
    by_change = api.get(reverse("api-response-list"), {"ordering": "-updated_at"}).json()["results"]

    assert [row["id"] for row in by_answer] == [later.pk, edited.pk]
    assert [row["id"] for row in by_change] == [edited.pk, later.pk]


def test_an_anonymous_answer_found_by_updated_after_still_names_nobody(api_client_as):
    edited = _answer_then_edit(SurveyFactory(anonymous=True))

    (row,) = api_client_as("analyst").get(
        reverse("api-response-list"), {"updated_after": "2025-03-10T10:00:00Z"}
    ).json()["results"]

    assert row["id"] == edited.pk and row["updated_at"] == "2025-03-10T11:00:00Z"
    assert [row[name] for name in ("customer", "invitation", "touchpoint", "segment", "language")] == [None] * 5
