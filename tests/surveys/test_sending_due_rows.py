"""Mutation audit (surveys.sending): claim, reminder and batch behaviours no test pinned.

Each test here failed on a small mutation of the product code that the rest of the suite let pass."""

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from surveys import sending
from surveys.models import Invitation, InvitationState, Survey, SurveyStatus
from tests.factories import InvitationFactory, SurveyFactory, queued_to

pytestmark = pytest.mark.django_db

REFUSALS: dict = {}  # address -> the SMTPRecipientsRefused its next send raises


class RefusingBackend(EmailBackend):
    """locmem, but refusing at RCPT the addresses listed in REFUSALS (once each)."""

    def send_messages(self, messages):
        for message in messages:
            for address in message.to:
                if address in REFUSALS:
                    raise REFUSALS.pop(address)
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def backend(settings):
    settings.EMAIL_BACKEND = "tests.surveys.test_sending_due_rows.RefusingBackend"
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    REFUSALS.clear()
    cache.clear()
    yield
    REFUSALS.clear()
    cache.clear()


def test_a_closed_surveys_queued_rows_are_not_due_so_no_sender_spins_on_them():
    """A closed survey emails nobody and its queued rows wait: they are not due, so the sender's
    chain (which re-queues itself while anything is due) and the sweeper leave them alone."""
    survey = SurveyFactory(expiry_days=10)
    queued_to(["a@x.test"], survey=survey)
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.CLOSED)

    assert not sending.due_invitations().exists()
    assert sending.more_due() is False
    assert sending.needs_sender() is False


def test_a_closed_surveys_non_responders_are_not_due_for_a_reminder():
    """Rows that will never get a reminder must not be due: a closed survey's unanswered rows would
    otherwise keep the reminder chain re-queuing itself for ever."""
    survey = SurveyFactory(reminder_days=3, status=SurveyStatus.CLOSED)
    InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=5))

    assert not sending.reminders_due().exists()


def read_then(change, monkeypatch):
    """reminders_due as the batch reads it, with `change()` happening right after the read."""
    read = sending.reminders_due

    def read_then_change(*args, **kwargs):
        rows = list(read(*args, **kwargs))
        change()
        return Invitation.objects.filter(pk__in=[row.pk for row in rows])

    monkeypatch.setattr(sending, "reminders_due", read_then_change)


def test_a_customer_who_answers_while_the_reminder_batch_runs_gets_no_reminder(monkeypatch):
    """Reminders go only to non-responders: the claim checks the row is still unanswered."""
    survey = SurveyFactory(reminder_days=1)
    row = InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=2))
    read_then(
        lambda: Invitation.objects.filter(pk=row.pk).update(
            state=InvitationState.RESPONDED, responded_at=timezone.now()
        ),
        monkeypatch,
    )

    result = sending.send_reminders()

    assert (result.sent, result.skipped) == (0, 1)
    assert mail.outbox == []


def test_a_survey_closed_while_the_reminder_batch_runs_sends_no_reminder(monkeypatch):
    """A closed survey emails nobody: the reminder claim checks the survey as it is at that moment."""
    survey = SurveyFactory(reminder_days=1)
    InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=2))
    read_then(lambda: Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.CLOSED), monkeypatch)

    result = sending.send_reminders()

    assert (result.sent, result.skipped) == (0, 1)
    assert mail.outbox == []


def test_a_bounce_recorded_while_the_last_message_was_sent_is_not_turned_back_into_sent(monkeypatch):
    """Marking the batch's last message sent is conditional on it still being SENDING: a provider's
    bounce webhook that moved it on meanwhile is never overwritten."""
    (row,) = queued_to(["a@x.test"])
    send_one = sending._send_one

    def send_then_bounce(connection, invitation, **kwargs):
        message_id = send_one(connection, invitation, **kwargs)
        Invitation.objects.filter(pk=invitation.pk).update(state=InvitationState.BOUNCED, bounced_at=timezone.now())
        return message_id

    monkeypatch.setattr(sending, "_send_one", send_then_bounce)

    assert sending.send_batch().sent == 1

    row.refresh_from_db()
    assert row.state == InvitationState.BOUNCED


def test_a_421_at_rcpt_ends_the_batch_and_charges_no_attempt_to_the_rows_after_it():
    """421 is the server closing the connection, not one mailbox refused for now: the batch stops at
    once, the other rows are left untouched (no attempt counted, nothing sent) for the retry."""
    first, *others = queued_to(["a@x.test", "b@x.test", "c@x.test"])
    REFUSALS["a@x.test"] = smtplib.SMTPRecipientsRefused({"a@x.test": (421, b"4.7.0 Too many connections")})

    result = sending.send_batch()

    assert result.retry_in == sending.backoff(1)
    assert mail.outbox == []
    first.refresh_from_db()
    assert (first.state, first.attempts) == (InvitationState.QUEUED, 1)
    assert first.send_after <= timezone.now()  # not put off alone: the whole batch is retried
    for row in others:
        row.refresh_from_db()
        assert (row.state, row.attempts) == (InvitationState.QUEUED, 0)
