"""Mutation audit (surveys.alerts): detractor-alert behaviours no test pinned.

Each test here failed on a small mutation of the product code that the rest of the suite let pass."""

import pytest
from django.core import mail
from django.utils import timezone

from surveys import webhook_urls
from surveys.alerts import send_detractor_alert
from surveys.models import Response
from tests.factories import ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


def due(response):
    """As the answer's transaction leaves a new detractor: its alert due (the task acts only then)."""
    Response.objects.filter(pk=response.pk).update(alert_due=True, alert_enqueued_at=timezone.now())
    return response


def owner(role="analyst", **kwargs):
    return UserFactory(username=f"owner-{role}", email=f"{role}@staff.example.com", password=None, role=role,
                       **kwargs)


def test_an_alert_still_due_for_an_answer_edited_to_a_promoter_is_not_sent():
    """The customer answered 2, then edited it to 9 before the alert task ran (the edit leaves the
    alert due): the task sees a promoter, sends nothing and closes the alert."""
    response = due(ResponseFactory(score=9, invitation__survey=SurveyFactory(owner=owner())))

    assert send_detractor_alert.delay(response.pk).get() == []

    assert mail.outbox == []
    assert Response.objects.get(pk=response.pk).alert_due is False


@pytest.mark.parametrize(("role", "active"), [("viewer", True), ("analyst", False)], ids=["viewer", "deactivated"])
def test_no_alert_email_goes_to_an_owner_who_may_not_read_responses(role, active):
    """The alert carries the answer and names the customer: an owner who may not open responses (a
    viewer sees dashboards only) or whose account was deactivated gets no email."""
    survey = SurveyFactory(owner=owner(role, is_active=active))
    response = due(ResponseFactory(score=1, invitation__survey=survey))

    assert send_detractor_alert.delay(response.pk).get() == []

    assert mail.outbox == []


def test_a_webhook_answering_429_is_retried_not_dropped(monkeypatch, eager_retries):
    """429 Too Many Requests is the receiver asking to come back later: a transient failure, retried
    until delivered, like a 5xx (only other 4xx and redirects drop the alert)."""
    statuses = [429, 204]
    posted = []

    def post(url, body, *, headers, timeout):
        posted.append(url)
        return statuses.pop(0)

    monkeypatch.setattr(webhook_urls, "post", post)
    survey = SurveyFactory(alert_webhook_url="https://hooks.example.com/nps")
    response = due(ResponseFactory(score=2, invitation__survey=survey))

    send_detractor_alert.delay(response.pk)

    assert len(posted) == 2
    assert Response.objects.get(pk=response.pk).alert_posted_at is not None
