"""The response pages: filtered list, search, pagination, CSV export, detail and follow-up."""

import csv
import datetime as dt
import io
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from surveys.models import Response
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def answers():
    nps = SurveyFactory(name="NPS")
    other = SurveyFactory(name="Other")
    return {
        "promoter": ResponseFactory(invitation__survey=nps, score=10, reason="Great support", touchpoint="web",
                                    answered_at=DAY),
        "passive": ResponseFactory(invitation__survey=nps, score=7, suggestion="Cheaper plans", touchpoint="shop",
                                   answered_at=DAY - dt.timedelta(days=20)),
        "detractor": ResponseFactory(
            invitation__survey=other, score=2, reason="Slow delivery", invitation__customer__segment="Enterprise",
            answered_at=DAY + dt.timedelta(days=5),
        ),
    }


def _listed(client, **params):
    page = client.get(reverse("surveys:response-list"), params)
    assert page.status_code == 200
    return {r.pk for r in page.context["page_obj"].object_list}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"promoter", "passive", "detractor"}),
        ({"band": "detractor"}, {"detractor"}),
        ({"band": "promoter"}, {"promoter"}),
        ({"touchpoint": "shop"}, {"passive"}),
        ({"segment": "Enterprise"}, {"detractor"}),
        ({"date_from": "2025-03-01", "date_to": "2025-03-10"}, {"promoter"}),
        ({"q": "slow"}, {"detractor"}),
        ({"q": "cheaper"}, {"passive"}),
        ({"band": "nonsense"}, {"promoter", "passive", "detractor"}),  # a bad filter is dropped
    ],
)
def test_it_filters_and_searches(client_as, answers, params, expected):
    assert _listed(client_as("analyst"), **params) == {answers[name].pk for name in expected}


def test_it_filters_by_survey(client_as, answers):
    survey = answers["detractor"].survey
    assert _listed(client_as("analyst"), survey=survey.pk) == {answers["detractor"].pk}


def test_it_filters_by_follow_up(client_as, answers):
    Response.objects.filter(pk=answers["promoter"].pk).update(followed_up_at=DAY)
    assert _listed(client_as("analyst"), followed_up="yes") == {answers["promoter"].pk}


def test_the_list_takes_no_query_per_row(client_as, django_assert_max_num_queries):
    survey = SurveyFactory()
    ResponseFactory.create_batch(40, invitation__survey=survey, reason="ok")
    client = client_as("analyst")
    # session, user, permissions, touchpoints, segments, surveys (the filter's choices), count, page
    with django_assert_max_num_queries(11):
        page = client.get(reverse("surveys:response-list"))
    assert len(page.context["page_obj"].object_list) == 40


def test_the_list_is_paginated(client_as):
    ResponseFactory.create_batch(51, invitation__survey=SurveyFactory())
    page = client_as("analyst").get(reverse("surveys:response-list"), {"page": 2})
    assert len(page.context["page_obj"].object_list) == 1


def test_the_csv_export_follows_the_filters(client_as, answers):
    response = client_as("analyst").get(reverse("surveys:response-export"), {"band": "detractor"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["score"], r["category"], r["reason"]) for r in rows] == [("2", "detractor", "Slow delivery")]
    assert rows[0]["customer"] == answers["detractor"].customer.external_id


def test_the_csv_export_defuses_formulas(client_as):
    ResponseFactory(invitation__survey=SurveyFactory(), reason="=HYPERLINK(\"http://x\")")
    response = client_as("analyst").get(reverse("surveys:response-export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0]["reason"].startswith("'=")


def test_the_detail_page_shows_the_answer_and_the_customer(client_as, answers):
    detractor = answers["detractor"]
    page = client_as("analyst").get(reverse("surveys:response-detail", args=[detractor.pk]))

    body = page.content.decode()
    assert "Slow delivery" in body
    assert detractor.customer.external_id in body


def test_following_up_records_who_when_and_the_note(client_as, analyst, client, answers):
    client.force_login(analyst)
    detractor = answers["detractor"]

    response = client.post(reverse("surveys:response-follow-up", args=[detractor.pk]),
                           {"note": "Called, refund sent", "done": "on"})

    assert response.status_code == 302
    detractor.refresh_from_db()
    assert detractor.follow_up_note == "Called, refund sent"
    assert detractor.followed_up_by == analyst and detractor.followed_up_at is not None
    assert detractor.history.first().history_user == analyst


def test_a_follow_up_can_be_reopened(client_as, answers):
    detractor = answers["detractor"]
    client = client_as("analyst")
    url = reverse("surveys:response-follow-up", args=[detractor.pk])
    client.post(url, {"note": "Called", "done": "on"})

    client.post(url, {"note": "Not reached after all"})

    detractor.refresh_from_db()
    assert detractor.followed_up_at is None and detractor.follow_up_note == "Not reached after all"


def test_the_same_follow_up_posted_twice_records_one_follow_up(client_as, answers):
    # A double click or a browser's retried POST: when the loop was closed stays, no second version.
    detractor = answers["detractor"]
    client = client_as("analyst")
    url = reverse("surveys:response-follow-up", args=[detractor.pk])
    assert client.post(url, {"note": "Called, refund sent", "done": "on"}).status_code == 302
    detractor.refresh_from_db()
    first_at, versions = detractor.followed_up_at, detractor.history.count()

    assert client.post(url, {"note": "Called, refund sent", "done": "on"}).status_code == 302

    detractor.refresh_from_db()
    assert detractor.followed_up_at == first_at
    assert detractor.history.count() == versions


def _followed_up_by_alice(client, detractor):
    """Alice marks the detractor followed up with "Called": Alice, the URL, when, the versions."""
    alice = UserFactory(role="analyst")
    url = reverse("surveys:response-follow-up", args=[detractor.pk])
    client.force_login(alice)
    client.post(url, {"note": "Called", "done": "on"})
    detractor.refresh_from_db()
    return alice, url, detractor.followed_up_at, detractor.history.count()


def test_a_colleague_resubmitting_the_same_follow_up_does_not_take_it_over(client, answers):
    detractor = answers["detractor"]
    alice, url, first_at, versions = _followed_up_by_alice(client, detractor)

    client.force_login(UserFactory(role="analyst"))  # his page, opened before, sends the same again
    client.post(url, {"note": "Called", "done": "on"})

    detractor.refresh_from_db()
    assert detractor.followed_up_by == alice and detractor.followed_up_at == first_at
    assert detractor.history.count() == versions


def test_a_retried_api_patch_of_the_same_follow_up_changes_nothing(api_client_as, answers):
    detractor = answers["detractor"]
    api = api_client_as("analyst")
    url = reverse("api-response-detail", args=[detractor.pk])
    body = {"followed_up": True, "follow_up_note": "Refunded"}
    first = api.patch(url, body, format="json")
    assert first.status_code == 200
    versions = detractor.history.count()

    second = api.patch(url, body, format="json")

    assert second.status_code == 200
    assert second.json()["followed_up_at"] == first.json()["followed_up_at"]
    assert second.json()["followed_up_by"] == first.json()["followed_up_by"]
    assert detractor.history.count() == versions


def test_a_new_note_on_a_done_follow_up_keeps_who_and_when(client, answers):
    detractor = answers["detractor"]
    alice, url, first_at, versions = _followed_up_by_alice(client, detractor)
    bob = UserFactory(role="analyst")

    client.force_login(bob)
    client.post(url, {"note": "Called, refund sent", "done": "on"})

    detractor.refresh_from_db()
    assert detractor.follow_up_note == "Called, refund sent"
    assert detractor.followed_up_by == alice and detractor.followed_up_at == first_at
    assert detractor.history.count() == versions + 1
    latest = detractor.history.first()  # the note's edit, by whoever made it
    assert latest.history_user == bob and latest.follow_up_note == "Called, refund sent"
    assert latest.followed_up_at == first_at


def test_a_get_on_the_follow_up_url_changes_nothing(client_as, answers):
    url = reverse("surveys:response-follow-up", args=[answers["detractor"].pk])
    assert client_as("admin").get(url, {"note": "x", "done": "on"}).status_code == 405
    answers["detractor"].refresh_from_db()
    assert answers["detractor"].followed_up_at is None


def test_the_follow_up_form_needs_the_csrf_token(answers, analyst):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    url = reverse("surveys:response-follow-up", args=[answers["detractor"].pk])
    assert client.post(url, {"note": "x", "done": "on"}).status_code == 403


def test_a_customer_segment_change_does_not_rewrite_the_answer(client_as, answers):
    customer = answers["detractor"].customer
    CustomerFactory._meta.model.objects.filter(pk=customer.pk).update(segment="SMB")
    assert _listed(client_as("analyst"), segment="Enterprise") == {answers["detractor"].pk}


# --- An empty list, and the way back to a filtered list ------------------------------------------


def test_an_empty_list_without_filters_says_nobody_answered_yet(client_as):
    page = client_as("analyst").get(reverse("surveys:response-list"))

    assert page.context["filtered"] is False
    assert "No answers yet." in page.text and "matches these filters" not in page.text
    assert f'href="{reverse("surveys:survey-list")}"' in page.text


def test_an_empty_filtered_list_blames_the_filters(client_as, answers):
    page = client_as("analyst").get(reverse("surveys:response-list"), {"followed_up": "yes"})

    assert page.context["filtered"] is True
    assert "No response matches these filters." in page.text and "No answers yet." not in page.text


FILTERED = "band=detractor&followed_up=no"


def _detail_link(page, response) -> str:
    prefix = reverse("surveys:response-detail", args=[response.pk])
    start = page.text.index(f'href="{prefix}') + len('href="')
    return page.text[start : page.text.index('"', start)].replace("&amp;", "&")


def test_a_response_opened_from_a_filtered_list_leads_back_to_it(client_as, answers):
    client = client_as("analyst")
    detractor = answers["detractor"]
    listing = client.get(f"{reverse('surveys:response-list')}?{FILTERED}")
    link = _detail_link(listing, detractor)
    assert link == f"/responses/{detractor.pk}/?back=/responses/%3Fband%3Ddetractor%26followed_up%3Dno"

    detail = client.get(link)

    assert f'<a href="/responses/?{FILTERED.replace("&", "&amp;")}">← Responses</a>' in detail.text
    follow_up = reverse("surveys:response-follow-up", args=[detractor.pk])
    assert f'action="{follow_up}?back=/responses/%3Fband%3Ddetractor%26followed_up%3Dno"' in detail.text


def test_saving_a_follow_up_returns_to_the_filtered_list(client_as, answers):
    detractor = answers["detractor"]
    client = client_as("analyst")
    url = reverse("surveys:response-follow-up", args=[detractor.pk])

    saved = client.post(f"{url}?back=/responses/%3F{FILTERED.replace('&', '%26')}", {"note": "Called", "done": "on"})

    assert saved.status_code == 302 and saved["Location"] == f"/responses/?{FILTERED}"
    detractor.refresh_from_db()
    assert detractor.followed_up_at is not None


def test_without_a_way_back_the_follow_up_returns_to_the_response(client_as, answers):
    detractor = answers["detractor"]
    client = client_as("analyst")
    detail = reverse("surveys:response-detail", args=[detractor.pk])

    saved = client.post(reverse("surveys:response-follow-up", args=[detractor.pk]), {"note": "Called", "done": "on"})

    assert saved["Location"] == detail
    assert f'<a href="{reverse("surveys:response-list")}">← Responses</a>' in client.get(detail).text
    assert "?back=" not in client.get(reverse("surveys:response-list")).text  # an unfiltered list adds none


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/",
        "https://evil.example/responses/?band=detractor",
        "//evil.example/responses/",
        "/\\evil.example/responses/",
        "/surveys/",  # a page of ours, but not the list
        "/responses/1/follow-up/",
        "javascript:alert(1)",
    ],
)
def test_a_way_back_elsewhere_than_the_responses_list_is_ignored(client_as, answers, back):
    detractor = answers["detractor"]
    client = client_as("analyst")
    detail = reverse("surveys:response-detail", args=[detractor.pk])

    page = client.get(detail, {"back": back})
    saved = client.post(reverse("surveys:response-follow-up", args=[detractor.pk]) + "?" + urlencode({"back": back}),
                        {"note": "Called", "done": "on"})

    assert page.context["back"] is None and "evil" not in page.text
    assert saved.status_code == 302 and saved["Location"] == detail
