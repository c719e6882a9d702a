"""A sending batch while the cache or the database goes away, simulated: the driver's error raised
where an outage or a PostgreSQL restart raises it."""

import datetime as dt
import logging

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown
from redis.exceptions import ConnectionError as RedisConnectionError

from cxplatform import reconnect
from surveys import sending, tasks
from surveys.models import Invitation, InvitationState
from tests.factories import InvitationFactory, SurveyFactory

RESTART = "terminating connection due to administrator command"


@pytest.fixture(autouse=True)
def unpaced(settings, monkeypatch):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    monkeypatch.setattr(reconnect, "RECONNECT_PAUSES", (0, 0, 0))


def queued(n):
    survey = SurveyFactory(expiry_days=10)
    return [
        InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None, expires_at=None)
        for _ in range(n)
    ]


def states(rows):
    return [Invitation.objects.get(pk=row.pk).state for row in rows]


@pytest.mark.django_db
def test_a_batch_goes_on_when_the_cache_fails_at_its_heartbeat(monkeypatch, caplog):
    """The heartbeat is the batch's first cache write: a cache down (REDIS_URL, apart from the
    broker) stopped every batch before its first email, and the sweeper's restarts alike."""
    rows = queued(3)

    def down(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(cache, "set", down)
    with caplog.at_level(logging.WARNING, logger="surveys.sending"):
        result = sending.send_batch()

    assert result.sent == 3 and len(mail.outbox) == 3
    assert states(rows) == [InvitationState.SENT] * 3
    warnings = [r for r in caplog.records if "heartbeat" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None  # once a batch, one line


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a worker runs it
def test_the_email_sent_before_a_database_restart_is_recorded_sent_and_the_task_comes_back(monkeypatch, caplog):
    """A restart mid-batch broke the connection at the UPDATE that marks the message just sent (and
    claims the next): the row was left SENDING, failed 15 minutes later as "interrupted" though the
    server had accepted it, and the rest waited for the sweeper."""
    first, second, third = queued(3)
    claims, marks = sending._sent_and_claimed, sending._mark_sent
    broken = {"claim": 1, "mark": 1}  # the restart breaks the claim, and the first try on a new connection

    def claim(sent, message_id, following):
        if sent is not None and broken["claim"]:
            broken["claim"] -= 1
            raise OperationalError(RESTART)
        return claims(sent, message_id, following)

    def mark(invitation, message_id):
        if broken["mark"]:
            broken["mark"] -= 1
            raise OperationalError("connection failed: the database system is starting up")
        return marks(invitation, message_id)

    monkeypatch.setattr(sending, "_sent_and_claimed", claim)
    monkeypatch.setattr(sending, "_mark_sent", mark)
    chained = []
    monkeypatch.setattr(tasks.send_invitations, "apply_async", lambda args, countdown=None: chained.append(countdown))

    with caplog.at_level(logging.WARNING):
        assert tasks.send_invitations() == 1

    assert [m.to for m in mail.outbox] == [[first.email]]
    assert states([first, second, third]) == [InvitationState.SENT, InvitationState.QUEUED, InvitationState.QUEUED]
    assert chained == [sending.DATABASE_LOST_RETRY_SECONDS]  # not left to the sweeper
    assert "database connection lost" in caplog.text and f"invitation {first.pk} as sent" in caplog.text

    monkeypatch.setattr(sending, "_sent_and_claimed", claims)
    monkeypatch.setattr(sending, "_mark_sent", marks)
    tasks.send_invitations()  # the retry
    assert sorted(m.to[0] for m in mail.outbox) == sorted(row.email for row in (first, second, third))


@pytest.mark.django_db(transaction=True)
def test_a_database_still_down_leaves_the_row_sending_as_before(monkeypatch):
    """Past the reconnect pauses nothing more can be done: the row stays SENDING for the sweeper
    (interrupted, not resent) and the task fails."""
    (first, second) = queued(2)
    claims = sending._sent_and_claimed

    def claim(sent, message_id, following):
        if sent is not None:
            raise OperationalError(RESTART)
        return claims(sent, message_id, following)

    def mark(invitation, message_id):
        raise OperationalError("connection failed: Connection refused")

    monkeypatch.setattr(sending, "_sent_and_claimed", claim)
    monkeypatch.setattr(sending, "_mark_sent", mark)

    with pytest.raises(OperationalError):
        sending.send_batch()

    assert states([first, second]) == [InvitationState.SENDING, InvitationState.QUEUED]


@pytest.mark.django_db
def test_a_batch_whose_next_one_the_broker_refuses_ends_in_one_line(settings, monkeypatch, caplog):
    """The chain's enqueue raised from the task: an error and a traceback per shard, for rows that
    simply wait for the sweeper."""
    settings.SURVEY_SEND_BATCH_SIZE = 2
    rows = queued(3)

    def refused(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_invitations, "delay", refused)
    with caplog.at_level(logging.WARNING):
        assert tasks.send_invitations() == 2

    assert states(rows) == [InvitationState.SENT, InvitationState.SENT, InvitationState.QUEUED]
    (line,) = caplog.records
    assert line.exc_info is None and "Survey sending paused after a batch: broker unreachable" in line.getMessage()


@pytest.mark.django_db
def test_a_reminder_batch_whose_next_one_the_broker_refuses_ends_in_one_line(settings, monkeypatch, caplog):
    settings.SURVEY_SEND_BATCH_SIZE = 1
    survey = SurveyFactory(reminder_days=1)
    long_ago = timezone.now() - dt.timedelta(days=2)
    first, second = (InvitationFactory(survey=survey, sent_at=long_ago) for _ in range(2))

    def refused(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_reminders, "delay", refused)
    with caplog.at_level(logging.WARNING):
        assert tasks.send_reminders() == 1

    assert len(mail.outbox) == 1 and sending.reminders_due().count() == 1  # the next hourly run's
    (line,) = caplog.records
    assert line.exc_info is None and "Reminders paused after a batch: broker unreachable" in line.getMessage()


@pytest.mark.django_db(transaction=True)
def test_a_reminder_sent_before_a_database_restart_is_recorded_sent(monkeypatch):
    """Its record was lost with the connection: the reminder stayed claimed and never marked sent,
    though the server had accepted it (counted nowhere as a reminder sent)."""
    survey = SurveyFactory(reminder_days=1)
    row = InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=2))
    mark, refused = sending._mark_reminded, [OperationalError(RESTART)]

    def restarting(invitation):
        if refused:
            raise refused.pop()
        mark(invitation)

    monkeypatch.setattr(sending, "_mark_reminded", restarting)
    assert sending.send_reminders().sent == 1

    row.refresh_from_db()
    assert len(mail.outbox) == 1 and row.reminder_sent_at is not None and not refused
