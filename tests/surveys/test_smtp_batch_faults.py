"""An invitation batch against a real, misbehaving SMTP server (aiosmtpd): one recipient refused for
now, an address the server calls unknown, and Celery's soft time limit in the middle of a send.
"""

import datetime as dt
import signal
import smtplib

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from surveys import sending, tasks
from surveys.launch import survey_retry_failed
from surveys.models import AddressEventKind, Invitation, InvitationState, SuppressedAddress, SuppressionReason
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory, queued_to

pytestmark = pytest.mark.django_db


def reload(rows):
    for row in rows:
        row.refresh_from_db()
    return rows


# --- One recipient refused for now ------------------------------------------------------------------


def test_one_recipient_refused_for_now_waits_alone_and_the_batch_goes_on(smtp_server):
    server = smtp_server(rcpt={"full@x.test": ["452 4.2.2 Mailbox full"] * 2})
    full, *others = queued_to(["full@x.test", "b@x.test", "c@x.test"])

    before = timezone.now()
    result = sending.send_batch()

    reload([full, *others])
    assert sorted(server.delivered) == ["b@x.test", "c@x.test"]
    assert [row.state for row in others] == [InvitationState.SENT] * 2
    assert (full.state, full.attempts) == (InvitationState.QUEUED, 1)
    assert "4.2.2 Mailbox full" in full.last_error
    assert full.send_after >= before + dt.timedelta(seconds=sending.backoff(1))  # it alone waits
    # Nothing else is due: the task comes back when that row is.
    assert (result.sent, result.deferred, result.failed) == (2, 1, 0)
    assert 50 < result.retry_in <= sending.backoff(1)

    assert sending.send_batch().done == 0  # the next batch does not take it again at once
    assert server.rcpt_seen.count("full@x.test") == 1

    with time_machine.travel(full.send_after + dt.timedelta(seconds=1)):
        assert sending.send_batch().deferred == 1  # its time come: tried again, refused again
    full.refresh_from_db()
    assert (full.state, full.attempts) == (InvitationState.QUEUED, 2)
    assert full.send_after > timezone.now() + dt.timedelta(seconds=sending.backoff(1))  # 2 minutes

    with time_machine.travel(full.send_after + dt.timedelta(seconds=1)):
        assert sending.send_batch().sent == 1
    assert sorted(server.delivered) == ["b@x.test", "c@x.test", "full@x.test"]


def test_a_recipient_refused_for_now_every_time_fails_after_the_usual_attempts(smtp_server):
    server = smtp_server(rcpt={"full@x.test": ["451 4.7.1 Greylisted"] * 10})
    (row,) = queued_to(["full@x.test"])

    for _ in range(sending.MAX_ATTEMPTS):
        with time_machine.travel(row.send_after + dt.timedelta(seconds=1)):
            sending.send_batch()
        row.refresh_from_db()

    assert (row.state, row.attempts) == (InvitationState.FAILED, sending.MAX_ATTEMPTS)
    assert "Greylisted" in row.last_error
    assert server.rcpt_seen == ["full@x.test"] * sending.MAX_ATTEMPTS


def test_the_server_closing_at_rcpt_still_ends_the_batch(smtp_server):
    """421 is the server going away (smtplib drops the connection): the rest would fail alike."""
    server = smtp_server(rcpt={"a@x.test": ["421 4.7.0 Too many connections, closing"]})
    rows = queued_to(["a@x.test", "b@x.test", "c@x.test"])

    result = sending.send_batch()

    assert [row.state for row in reload(rows)] == [InvitationState.QUEUED] * 3
    assert rows[0].attempts == 1 and result.retry_in == sending.backoff(1)
    assert server.rcpt_seen == ["a@x.test"] and server.delivered == []


def test_the_claim_leaves_a_row_put_off_since_the_batch_read_it():
    """Another batch read it while due; this one has put it off (refused for now) meanwhile."""
    (read,) = queued_to(["full@x.test"])
    Invitation.objects.filter(pk=read.pk).update(attempts=1, send_after=timezone.now() + dt.timedelta(minutes=1))

    assert sending._claim(read) is False
    assert Invitation.objects.get(pk=read.pk).state == InvitationState.QUEUED


def test_the_task_comes_back_when_the_row_refused_for_now_is_due(smtp_server, monkeypatch):
    smtp_server(rcpt={"full@x.test": ["452 4.2.2 Mailbox full"]})
    queued_to(["full@x.test", "b@x.test"])
    scheduled = []
    monkeypatch.setattr(tasks.send_invitations, "apply_async", lambda args, countdown: scheduled.append(countdown))

    assert tasks.send_invitations() == 1

    assert len(scheduled) == 1 and 50 < scheduled[0] <= sending.backoff(1)
    cache.delete(sending.HEARTBEAT_KEY)
    assert sending.sender_alive()  # waiting out that row's backoff: the sweeper leaves the chain be


# --- An address the server calls unknown ------------------------------------------------------------


def test_an_address_unknown_at_rcpt_is_bounced_and_never_emailed_again(smtp_server, api_client_as):
    server = smtp_server(rcpt={"gone@x.test": ["550 5.1.1 <gone@x.test>: User unknown"] * 5})
    first, fine = queued_to(["gone@x.test", "fine@x.test"])
    # The same customer's failed invitation of another survey (the mail server was down then).
    failed_before = InvitationFactory(
        customer=first.customer, state=InvitationState.FAILED, last_error=repr(ConnectionRefusedError(111, "no")),
    )

    result = sending.send_batch()

    first, fine = reload([first, fine])
    assert (result.sent, result.failed, result.retry_in) == (1, 1, None)  # the batch went on
    assert first.state == InvitationState.BOUNCED and first.bounced_at is not None
    assert "5.1.1" in first.last_error and fine.state == InvitationState.SENT
    entry = SuppressedAddress.objects.get()
    assert (entry.email, entry.kind) == ("gone@x.test", AddressEventKind.BOUNCED)
    assert "550 5.1.1" in entry.detail

    api = api_client_as("analyst")
    progress = api.get(reverse("api-survey-detail", args=[first.survey_id])).json()["progress"]
    assert (progress["bounced"], progress["failed"], progress["sent"]) == (1, 0, 1)
    listed = api.get(reverse("api-invitation-list"), {"survey": first.survey_id}).json()["results"]
    shown = {item["id"]: (item["state"], item["failure_reason"]) for item in listed}
    assert shown[first.pk] == ("bounced", "550 5.1.1 <address>: User unknown")

    # The next survey, and "Retry failed" of the other one: suppressed, not emailed.
    (second,) = queued_to(["gone@x.test"])
    assert survey_retry_failed(survey=failed_before.survey).suppressed == {SuppressionReason.BOUNCED_BEFORE: 1}
    sending.send_batch()
    second.refresh_from_db()
    assert (second.state, second.suppression_reason) == (InvitationState.SUPPRESSED, SuppressionReason.BOUNCED_BEFORE)
    assert server.rcpt_seen.count("gone@x.test") == 1


def refused(code: int, text: bytes) -> smtplib.SMTPRecipientsRefused:
    return smtplib.SMTPRecipientsRefused({"a@x.test": (code, text)})


@pytest.mark.parametrize(("exc", "unknown"), [
    (refused(550, b"5.1.1 User unknown"), True),
    (refused(550, b"5.1.1 The email account that you tried to reach does not exist.\n5.1.1 Please try"), True),
    (refused(553, b"5.1.3 Bad recipient address syntax"), True),
    (refused(550, b"5.1.10 Recipient address has null MX"), True),
    (refused(550, b"sorry, no mailbox here by that name. (#5.1.1)"), True),  # qmail
    (refused(550, b"5.7.1 Relaying denied"), False),  # about us, not the address
    (refused(554, b"5.7.1 Rejected by policy"), False),
    (refused(550, b"5.2.1 Mailbox disabled"), False),
    (refused(550, b"5.1.8 Bad sender's system address"), False),  # our sender
    (refused(550, b"no such user"), False),  # a bare 550: relays and policies say it too
    (refused(553, b"sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"), False),  # qmail's relay
    (refused(450, b"4.1.1 Mailbox unavailable, try later"), False),
    (smtplib.SMTPSenderRefused(550, b"5.1.1 Unknown", "cx@example.com"), False),
    (smtplib.SMTPRecipientsRefused({}), False),
])
def test_only_an_address_status_5_1_x_counts_as_unknown(exc, unknown):
    assert sending.address_unknown(exc) is unknown


def test_a_policy_refusal_at_rcpt_still_only_fails_the_row(smtp_server):
    smtp_server(rcpt={"a@x.test": ["550 5.7.1 Relaying denied"]})
    (row,) = queued_to(["a@x.test"])

    sending.send_batch()

    row.refresh_from_db()
    assert row.state == InvitationState.FAILED and not SuppressedAddress.objects.exists()


def test_a_reminder_to_an_address_unknown_at_rcpt_suppresses_it(smtp_server):
    smtp_server(rcpt={"gone@x.test": ["550 5.1.1 User unknown"]})
    survey = SurveyFactory(reminder_days=3)
    row = InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=5),
                            customer=CustomerFactory(email="gone@x.test"))

    result = sending.send_reminders()

    row.refresh_from_db()
    assert result.failed == 1 and row.state == InvitationState.SENT  # its first email did arrive
    assert SuppressedAddress.objects.filter(email="gone@x.test", kind=AddressEventKind.BOUNCED).exists()


# --- Celery's soft time limit -----------------------------------------------------------------------


@pytest.fixture
def soft_limit_after():
    """soft_limit_after(seconds): SoftTimeLimitExceeded is raised then, as Celery's does."""

    def soft_limit(signum, frame):
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, soft_limit)
    yield lambda seconds: signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_the_soft_time_limit_during_a_send_ends_the_batch(smtp_server, soft_limit_after):
    server = smtp_server(data_delay=0.6)
    rows = queued_to(["a@x.test", "b@x.test", "c@x.test"])

    soft_limit_after(0.3)  # while the first message's DATA is in flight
    result = sending.send_batch()  # returns: the task chains the next batch

    first, *rest = reload(rows)
    assert (first.state, first.last_error) == (InvitationState.FAILED, sending.INTERRUPTED)  # maybe delivered
    assert [row.state for row in rest] == [InvitationState.QUEUED] * 2
    assert (result.failed, result.sent, result.retry_in) == (1, 0, None) and sending.more_due()

    assert sending.send_batch().sent == 2  # the next batch: a new connection, the first not resent
    assert sorted(server.delivered) == ["a@x.test", "b@x.test", "c@x.test"]
    assert server.rcpt_seen.count("a@x.test") == 1


def test_the_soft_time_limit_while_pacing_gives_the_claimed_row_back(smtp_server, monkeypatch):
    # Claimed, then stopped before the server saw it: nothing may have arrived, so it is not
    # "interrupted" (left out of a plain retry, "delivered" on an anonymous survey) but queued again.
    server = smtp_server()
    rows = queued_to(["a@x.test", "b@x.test"])

    def stopped(self):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(sending.Pacer, "wait", stopped)
    result = sending.send_batch()

    assert [(row.state, row.last_error) for row in reload(rows)] == [(InvitationState.QUEUED, "")] * 2
    assert (result.failed, result.sent) == (0, 0) and server.rcpt_seen == []
    monkeypatch.undo()
    assert sending.send_batch().sent == 2


def test_a_batch_starts_no_message_past_its_time_budget(smtp_server, settings, monkeypatch):
    server = smtp_server(data_delay=0.3)
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 0.2  # a budget of 0.1 s: one message
    rows = queued_to(["a@x.test", "b@x.test", "c@x.test"])
    chained = []
    monkeypatch.setattr(tasks.send_invitations, "delay", lambda *args: chained.append(args))

    assert tasks.send_invitations() == 1

    assert [row.state for row in reload(rows)] == [InvitationState.SENT] + [InvitationState.QUEUED] * 2
    assert server.delivered == ["a@x.test"] and chained == [(0, 1)]  # the next batch goes on


def test_the_soft_time_limit_during_a_reminder_ends_the_batch(smtp_server, soft_limit_after):
    server = smtp_server(data_delay=0.6)
    survey = SurveyFactory(reminder_days=3)
    earlier = timezone.now() - dt.timedelta(days=5)
    rows = [InvitationFactory(survey=survey, sent_at=earlier + dt.timedelta(minutes=n),
                              customer=CustomerFactory(email=f"{n}@x.test")) for n in range(3)]

    soft_limit_after(0.3)
    sending.send_reminders()

    first, *rest = reload(rows)
    assert first.reminder_claimed_at is not None and first.reminder_sent_at is None  # not resent
    assert [(row.reminder_claimed_at, row.reminder_sent_at) for row in rest] == [(None, None)] * 2
    assert server.rcpt_seen == ["0@x.test"]
