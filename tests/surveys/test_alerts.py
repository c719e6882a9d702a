"""Detractor alerts: the owner's email and the JSON webhook, for new detractors only."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError

from surveys.alerts import (
    ALERT_REQUEUE_AFTER,
    MAX_RETRIES,
    send_detractor_alert,
    sweep_detractor_alerts,
    webhook_payload,
)
from surveys.models import Response
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits", "local_receivers_allowed")]


@pytest.fixture
def local_receivers_allowed(settings):
    """The Hook below listens on 127.0.0.1, which the SSRF guard refuses unless told otherwise."""
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True


class Hook:
    """A local webhook receiver: records JSON bodies, answers with the statuses it is given."""

    def __init__(self, statuses=()):
        self.bodies, self.statuses = [], list(statuses)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    receiver = Hook()
    yield receiver
    receiver.close()


@pytest.fixture
def owner():
    # No password: no slow hashing. An analyst: the alert goes only to owners who may see responses.
    return UserFactory(username="alice", email="alice@staff.example.com", password=None, role="analyst")


def due(response):
    """As the answer's transaction leaves a new detractor: its alert due (the task acts only then)."""
    Response.objects.filter(pk=response.pk).update(alert_due=True, alert_enqueued_at=timezone.now())
    return response


def survey_with(owner=None, hook=None, anonymous=False):
    return SurveyFactory(owner=owner, alert_webhook_url=hook.url if hook else "", anonymous=anonymous)


def answer(client, invitation, score, reason=""):
    return client.post(reverse("survey-answer", args=[invitation.token]), {"score": score, "reason": reason})


def test_a_new_detractor_emails_the_owner(client, owner, django_capture_on_commit_callbacks):
    customer = CustomerFactory(name="Dana Doe", external_id="C-77")
    invitation = InvitationFactory(survey=survey_with(owner), customer=customer)

    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, 3, reason="Billing <b>errors</b>")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@staff.example.com"]
    assert "3/10" in message.subject
    assert "Billing <b>errors</b>" in message.body
    assert "Dana Doe" in message.body
    assert "http://127.0.0.1:8000/responses/" in message.body
    html = message.alternatives[0][0]
    assert "Billing &lt;b&gt;errors&lt;/b&gt;" in html


def test_promoters_passives_and_detractor_edits_send_nothing(client, owner, django_capture_on_commit_callbacks):
    survey = survey_with(owner)
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, InvitationFactory(survey=survey), 9)
        answer(client, InvitationFactory(survey=survey), 7)
        detractor = InvitationFactory(survey=survey)
        answer(client, detractor, 2)
        answer(client, detractor, 4, reason="still unhappy")
    assert len(mail.outbox) == 1


def test_a_survey_without_owner_or_hook_alerts_nobody(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, InvitationFactory(survey=survey_with()), 0)
    assert mail.outbox == []


def test_the_webhook_gets_the_answer_and_the_customer(client, hook, django_capture_on_commit_callbacks):
    customer = CustomerFactory(name="Dana Doe", external_id="C-77")
    invitation = InvitationFactory(survey=survey_with(hook=hook), customer=customer, reference="ORDER-1")

    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, 5, reason="Late delivery")

    [body] = hook.bodies
    assert body["event"] == "nps.detractor"
    assert (body["score"], body["category"], body["reason"]) == (5, "detractor", "Late delivery")
    assert body["customer"]["external_id"] == "C-77"
    assert body["reference"] == "ORDER-1"


def test_an_anonymous_survey_never_names_the_customer(client, owner, hook, django_capture_on_commit_callbacks):
    customer = CustomerFactory(name="Dana Doe", external_id="C-77", email="dana@customer.example.com")
    survey = survey_with(owner, hook, anonymous=True)
    invitation = InvitationFactory(survey=survey, customer=customer, reference="ORDER-1")

    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, 1, reason="Rude staff")

    [body] = hook.bodies
    assert body["reason"] == "Rude staff"
    raw = json.dumps(body)
    for identity in ("Dana Doe", "C-77", "dana@customer.example.com", "ORDER-1"):
        assert identity not in raw
    assert "customer" not in body and "reference" not in body
    message = mail.outbox[0]
    for identity in ("Dana Doe", "C-77", "dana@customer.example.com", "ORDER-1"):
        assert identity not in message.body
        assert identity not in message.alternatives[0][0]


def test_a_transient_webhook_failure_is_retried_without_a_second_email(owner, eager_retries):
    hook = Hook(statuses=[503, 502])
    try:
        response = due(ResponseFactory(score=2, invitation__survey=survey_with(owner, hook)))

        # Eager mode runs the retries at once, without the countdown.
        send_detractor_alert.delay(response.pk)

        assert len(hook.bodies) == 3  # two failures, then delivered
        assert len(mail.outbox) == 1
    finally:
        hook.close()


def test_a_refused_webhook_is_not_retried(owner):
    hook = Hook(statuses=[400])
    try:
        response = due(ResponseFactory(score=2, invitation__survey=survey_with(owner, hook)))
        assert send_detractor_alert.delay(response.pk).get() == ["email"]
        assert len(hook.bodies) == 1
    finally:
        hook.close()


def test_a_response_edited_out_of_detractor_before_the_task_runs_sends_nothing(owner):
    response = ResponseFactory(score=9, invitation__survey=survey_with(owner))
    assert send_detractor_alert.delay(response.pk).get() == []
    assert send_detractor_alert.delay(999_999).get() == []
    assert mail.outbox == []


def test_the_payload_links_to_the_staff_page():
    response = ResponseFactory(score=0)
    assert webhook_payload(response)["url"].startswith("http://127.0.0.1:8000/responses/")


# --- the outbox: an alert survives a broker outage and is never sent twice --------------------------


def stored(invitation):
    return Response.objects.get(invitation=invitation)


def test_a_delivered_alert_is_no_longer_due(client, owner, django_capture_on_commit_callbacks):
    invitation = InvitationFactory(survey=survey_with(owner))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer(client, invitation, 1)
    due = stored(invitation)
    assert due.alert_due and due.alert_enqueued_at == due.answered_at  # in the answer's transaction

    for callback in callbacks:
        callback()

    assert len(mail.outbox) == 1
    assert not stored(invitation).alert_due


def test_promoters_and_passives_are_never_due(client, owner):
    for score in (7, 9):
        invitation = InvitationFactory(survey=survey_with(owner))
        answer(client, invitation, score)
        assert not stored(invitation).alert_due


def test_an_alert_the_broker_refused_is_sent_by_the_sweeper_once(client, owner, django_capture_on_commit_callbacks):
    invitation = InvitationFactory(survey=survey_with(owner))
    refusing = mock.patch.object(send_detractor_alert, "delay", side_effect=OperationalError("broker down"))
    with refusing, django_capture_on_commit_callbacks(execute=True):
        page = answer(client, invitation, 2, reason="Broken")

    assert page.status_code == 303  # the customer's answer is taken all the same: off to the thanks
    assert mail.outbox == []
    refused = stored(invitation)
    assert refused.alert_due and refused.alert_enqueued_at is None

    assert sweep_detractor_alerts() == 1  # the broker is back: eager mode delivers at once
    assert len(mail.outbox) == 1
    assert not stored(invitation).alert_due
    assert sweep_detractor_alerts() == 0
    assert len(mail.outbox) == 1


def test_the_sweeper_leaves_a_live_alert_alone_and_takes_back_a_lost_one(owner):
    response = ResponseFactory(score=3, invitation__survey=survey_with(owner))
    Response.objects.filter(pk=response.pk).update(alert_due=True, alert_enqueued_at=timezone.now())

    with mock.patch.object(send_detractor_alert, "delay") as delay:
        assert sweep_detractor_alerts() == 0  # handed over just now: its task may be retrying

        lost = timezone.now() - ALERT_REQUEUE_AFTER - dt.timedelta(minutes=1)
        Response.objects.filter(pk=response.pk).update(alert_enqueued_at=lost)
        assert sweep_detractor_alerts() == 1
        assert sweep_detractor_alerts() == 0  # claimed: enqueued_at moved to now

    delay.assert_called_once_with(response.pk)


def test_an_alert_stays_due_while_its_task_retries_and_ends_when_it_gives_up(owner):
    hook = Hook(statuses=[503] * 20)
    try:
        response = ResponseFactory(score=2, invitation__survey=survey_with(None, hook))
        Response.objects.filter(pk=response.pk).update(alert_due=True, alert_enqueued_at=timezone.now())

        with pytest.raises(Retry):
            send_detractor_alert.apply(args=[response.pk], throw=True)
        assert Response.objects.get(pk=response.pk).alert_due

        send_detractor_alert.apply(args=[response.pk], kwargs={"parts": ["webhook"]}, retries=MAX_RETRIES)
        assert not Response.objects.get(pk=response.pk).alert_due
    finally:
        hook.close()


def test_the_sweeper_runs_every_five_minutes_from_beat():
    task = PeriodicTask.objects.select_related("interval").get(name="Detractor alert sweeper")
    assert task.task == "surveys.alerts.sweep_detractor_alerts" and task.enabled
    assert (task.interval.every, task.interval.period) == (5, "minutes")
