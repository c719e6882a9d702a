"""The Django admin's history page of a response, and a survey's delete confirmation, take as many
queries whatever the number of versions or answers: both print each response with str(), which
read its survey (one query per row) while it named it."""

import collections

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys.models import Response
from tests.factories import ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_response_is_named_without_reading_its_survey(django_assert_num_queries):
    answer = Response.objects.get(pk=ResponseFactory(score=3).pk)
    with django_assert_num_queries(0):
        assert str(answer) == f"Response #{answer.pk}: 3 (detractor)"


def _follow_ups(response, n):
    for i in range(n):
        response.follow_up_note = f"called back {i}"
        response.followed_up_at = timezone.now()
        response._history_user = UserFactory(role="analyst")
        response.save()


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_the_history_page_queries_do_not_grow_with_versions(client, admin):
    client.force_login(admin)
    response = ResponseFactory(score=3)
    url = reverse("admin:surveys_response_history", args=[response.pk])
    _follow_ups(response, 3)
    few = _queries(client, url)
    _follow_ups(response, 12)
    many = _queries(client, url)
    repeated = [sql for sql, n in collections.Counter(many).items() if n > 1]
    assert len(many) == len(few), (len(few), len(many), repeated)


def test_the_survey_delete_page_queries_do_not_grow_with_responses(client, admin):
    """Django's delete confirmation formats every collected object with str() (a launched survey's
    page is still drawn, to say why it cannot be deleted)."""
    client.force_login(admin)
    survey = SurveyFactory()
    url = reverse("admin:surveys_survey_delete", args=[survey.pk])
    ResponseFactory.create_batch(3, invitation__survey=survey)
    few = _queries(client, url)
    ResponseFactory.create_batch(12, invitation__survey=survey)
    many = _queries(client, url)
    repeated = [sql for sql, n in collections.Counter(many).items() if n > 1]
    assert len(many) == len(few), (len(few), len(many), repeated[:1])
