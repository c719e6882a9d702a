"""/api/responses/: list with the UI's filters, retrieve, PATCH for the follow-up only."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import ResponseFactory, SurveyFactory

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
