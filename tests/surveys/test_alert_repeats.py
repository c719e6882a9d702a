"""A detractor alert run again (the sweeper after a worker died, a redelivered message) sends
nothing twice; a webhook URL the resolver cannot ask for is refused, not retried for ever."""

import datetime as dt
import threading
import time
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from surveys import alerts
from surveys.alerts import ALERT_REQUEUE_AFTER, send_detractor_alert, sweep_detractor_alerts
from surveys.models import Response
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

# Django's URLValidator takes Unicode labels of up to 63 characters; in IDNA this one is longer
# than a DNS label may be, so the resolver cannot even be asked (UnicodeError, not OSError).
LONG_IDN_URL = "https://" + "\u00e4" * 60 + ".example/hook"


@pytest.fixture
def owner():
    return UserFactory(username="owner", email="owner@staff.example.com", password=None, role="analyst")


def due_detractor(survey):
    response = ResponseFactory(score=2, invitation__survey=survey)
    Response.objects.filter(pk=response.pk).update(alert_due=True, alert_enqueued_at=timezone.now())
    return response


def sweep_as_if_lost(response):
    """Two hours on, as the sweeper sees an alert whose task ended without clearing it."""
    long_ago = timezone.now() - ALERT_REQUEUE_AFTER - dt.timedelta(minutes=1)
    Response.objects.filter(pk=response.pk).update(alert_enqueued_at=long_ago)
    sweep_detractor_alerts()


def test_a_webhook_host_too_long_for_idna_is_refused_when_saved():
    survey = SurveyFactory.build(alert_webhook_url=LONG_IDN_URL)
    with pytest.raises(ValidationError, match="not a valid domain name"):
        survey.full_clean()


def test_a_stored_webhook_host_too_long_for_idna_is_dropped_and_the_email_goes_once(owner, settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False
    survey = SurveyFactory(owner=owner)
    Survey = type(survey)
    Survey.objects.filter(pk=survey.pk).update(alert_webhook_url=LONG_IDN_URL)  # stored before the check
    response = due_detractor(Survey.objects.get(pk=survey.pk))

    assert send_detractor_alert.apply(args=[response.pk], throw=True).get() == ["email"]
    sweep_as_if_lost(response)

    assert len(mail.outbox) == 1
    assert not Response.objects.get(pk=response.pk).alert_due


def test_a_worker_dying_between_the_email_and_the_webhook_does_not_email_twice(owner):
    response = due_detractor(SurveyFactory(owner=owner, alert_webhook_url="https://hooks.example.com/nps"))
    dying = mock.patch.dict(alerts.SENDERS, {"webhook": mock.Mock(side_effect=SystemExit("worker killed"))})
    with dying, pytest.raises(SystemExit):
        send_detractor_alert.apply(args=[response.pk], throw=True)
    assert len(mail.outbox) == 1

    posted = mock.Mock(return_value=True)
    with mock.patch.dict(alerts.SENDERS, {"webhook": posted}):
        sweep_as_if_lost(response)

    assert len(mail.outbox) == 1  # the email had gone: only the webhook is delivered now
    posted.assert_called_once()
    stored = Response.objects.get(pk=response.pk)
    assert not stored.alert_due and stored.alert_emailed_at and stored.alert_posted_at


def test_the_same_alert_message_delivered_twice_sends_nothing_the_second_time(
    client, owner, django_capture_on_commit_callbacks
):
    invitation = InvitationFactory(survey=SurveyFactory(owner=owner))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("survey-answer", args=[invitation.token]), {"score": 0, "reason": "bad"})
    response = Response.objects.get(invitation=invitation)
    assert len(mail.outbox) == 1 and not response.alert_due

    assert send_detractor_alert.apply(args=[response.pk], throw=True).get() == []
    assert len(mail.outbox) == 1


def test_an_answer_edited_back_into_a_detractor_alerts_again(client, owner, django_capture_on_commit_callbacks):
    """Each alert delivers both parts anew: the stamps of the first do not silence the second."""
    invitation = InvitationFactory(survey=SurveyFactory(owner=owner))
    url = reverse("survey-answer", args=[invitation.token])
    for score in (0, 9, 1):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"score": score, "reason": "changed my mind"})
    assert len(mail.outbox) == 2


# --- Two runs of one alert at the same moment ----------------------------------------------------
# The sweeper hands an alert over again after ALERT_REQUEUE_AFTER while its first message may still
# wait in a busy queue: two workers then run it at once. Each part is claimed before it is sent.


def test_a_run_while_another_is_sending_the_email_sends_nothing_and_leaves_the_alert_to_it(owner):
    response = due_detractor(SurveyFactory(owner=owner, alert_webhook_url="https://hooks.example.com/nps"))
    real_email, posted, second_run = alerts.SENDERS["email"], mock.Mock(return_value=True), []

    def email_while_another_run_starts(response):
        second_run.append(send_detractor_alert.apply(args=[response.pk], throw=True).get())
        assert Response.objects.get(pk=response.pk).alert_due  # not marked done under the first run
        return real_email(response)

    with mock.patch.dict(alerts.SENDERS, {"email": email_while_another_run_starts, "webhook": posted}):
        assert send_detractor_alert.apply(args=[response.pk], throw=True).get() == ["email", "webhook"]

    assert second_run == [[]]
    assert len(mail.outbox) == 1
    posted.assert_called_once()
    stored = Response.objects.get(pk=response.pk)
    assert not stored.alert_due and stored.alert_claimed_at is None


def test_a_claim_a_killed_worker_left_is_sent_by_the_sweepers_hand_over_once_it_expired(owner):
    response = due_detractor(SurveyFactory(owner=owner))
    killed_at = timezone.now() - alerts.PART_CLAIM_EXPIRES_AFTER + dt.timedelta(minutes=1)
    Response.objects.filter(pk=response.pk).update(alert_claimed_at=killed_at)

    sweep_as_if_lost(response)  # the claim may still be a live run's: nothing sent, still due
    assert len(mail.outbox) == 0 and Response.objects.get(pk=response.pk).alert_due

    Response.objects.filter(pk=response.pk).update(alert_claimed_at=killed_at - dt.timedelta(minutes=2))
    sweep_as_if_lost(response)
    assert len(mail.outbox) == 1 and not Response.objects.get(pk=response.pk).alert_due


def test_a_transient_failure_gives_the_claim_back_for_the_retry(owner):
    response = due_detractor(SurveyFactory(owner=owner))
    down = mock.Mock(side_effect=alerts.TransientError("421 try later"))
    with mock.patch.dict(alerts.SENDERS, {"email": down}), mock.patch.object(send_detractor_alert, "retry") as retry:
        retry.side_effect = RuntimeError("retry scheduled")
        with pytest.raises(RuntimeError, match="retry scheduled"):
            send_detractor_alert.apply(args=[response.pk], throw=True)
    assert Response.objects.get(pk=response.pk).alert_claimed_at is None

    assert send_detractor_alert.apply(args=[response.pk], kwargs={"parts": ["email"]}, throw=True).get() == ["email"]
    assert len(mail.outbox) == 1


def test_a_failed_runs_retry_also_carries_the_part_another_run_held(owner):
    # X's email fails; before X reaches the webhook, run Y claims it (and may fail it, retrying the
    # webhook alone). X's retry must try the webhook too: whichever retry ends the alert clears
    # alert_due, and a retry that knew only its own part would end it with the other undelivered.
    response = due_detractor(SurveyFactory(owner=owner, alert_webhook_url="https://hooks.example.com/nps"))
    down = mock.Mock(side_effect=alerts.TransientError("421 try later"))
    real_give_back = alerts._part_given_back

    def given_back_then_claimed_by_another_run(response_id, part, claimed_at, *, delivered):
        real_give_back(response_id, part, claimed_at, delivered=delivered)
        Response.objects.filter(pk=response_id).update(alert_claimed_at=timezone.now())  # run Y

    with (
        mock.patch.dict(alerts.SENDERS, {"email": down}),
        mock.patch.object(alerts, "_part_given_back", given_back_then_claimed_by_another_run),
        mock.patch.object(send_detractor_alert, "retry", side_effect=RuntimeError("retry scheduled")) as retry,
        pytest.raises(RuntimeError, match="retry scheduled"),
    ):
        send_detractor_alert.apply(args=[response.pk], throw=True)

    assert retry.call_args.kwargs["kwargs"] == {"parts": ["email", "webhook"]}
    assert Response.objects.get(pk=response.pk).alert_due


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")
def test_one_alert_run_twice_at_once_emails_the_owner_once():
    owner = UserFactory(email="owner@example.com", password=None, is_superuser=True)
    response = due_detractor(SurveyFactory(owner=owner))
    real_email, start, errors = alerts.SENDERS["email"], threading.Barrier(2), []

    def slow_email(response):  # the second run claims while the first is still sending
        time.sleep(0.4)
        return real_email(response)

    def run():
        try:
            start.wait(5)
            send_detractor_alert.apply(args=[response.pk], throw=True).get()
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.dict(alerts.SENDERS, {"email": slow_email}):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert errors == []
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    assert not Response.objects.get(pk=response.pk).alert_due
