"""Claim-and-send of survey invitations: at most one email per invitation, resumable.

The state change is the lock. A batch reads up to SURVEY_SEND_BATCH_SIZE due QUEUED rows, then for
each one: a conditional UPDATE queued -> sending (if it changes no row, another process got there
first), the SMTP conversation over the batch's one connection, and an UPDATE sending -> sent,
committed together with the next row's claim (one commit per message, nothing sent in between): the
duplicate window is one message.

A worker killed between the claim and the UPDATE to sent leaves the row in SENDING, and nobody can
know whether the SMTP server accepted that message. The sweeper marks such rows FAILED ("interrupted
while sending; not resent to avoid a duplicate") once they are older than
SURVEY_SENDING_STALE_MINUTES: we choose at most once, because a survey asked twice annoys a customer
and skews the sample more than one missing invitation does. The row stays visible in the audit, and
its link (maybe delivered) expires like any other: the claim gave the row its expires_at. A database
restart at that UPDATE is no such death: the worker knows the server accepted the message, and
records it over a new connection once the database answers again (cxplatform.reconnect).

The claim checks the row against its customer and survey as they are at that moment, not as the
batch read them (a batch is up to SURVEY_SEND_BATCH_SIZE messages, seconds): a closed survey's row
stays queued; a customer who opted out, has no address left, or whose address bounced or complained
has the row suppressed with that reason, by the claim itself. Otherwise the claim stores the address
the email goes to: the customer's current one (the row's copy is from the launch or the trigger).

Transient SMTP errors (is_transient, shared with the accounting emails) put the row back to QUEUED
with attempts + 1. One of the connection or the server (a timeout, a dropped connection, a 4xx to
MAIL FROM or DATA, a 421) ends the batch: the task retries it with backoff, and marks its shard
alive in the cache until then (the sweeper would otherwise take the silent wait for a dead chain
and start another). One recipient refused for now (a 4xx to its RCPT: greylisted, mailbox full)
says nothing of the others: that row alone waits its backoff (send_after) and the batch goes on; a
batch that leaves nothing else due has the task come back when the first such row is due. After
MAX_ATTEMPTS the row is FAILED with the last error. Permanent errors fail that row and the batch
goes on; a recipient the server calls unknown at RCPT (an enhanced code 5.1.x: a hard bounce told
at once) is BOUNCED and its address suppressed, as a provider's bounce webhook does.

Celery's soft time limit ends the batch, not the message: the message in flight (its outcome
unknown, the connection out of step) is failed as interrupted, and nothing more is sent. A batch
starts no message past a time budget well under that limit: the rest stay queued for the next
batch, which the task chains as for any backlog.
"""

import logging
import re
import smtplib
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Lower, Mod
from django.utils import timezone

from accounting.models import Customer
from accounting.tasks import is_transient
from cxplatform.reconnect import CONNECTION_LOST, first_line, written_after_reconnecting

from .emails import invitation_message
from .models import (
    AddressEventKind,
    Invitation,
    InvitationState,
    SuppressedAddress,
    SuppressionReason,
    Survey,
    SurveyStatus,
)
from .webhooks import address_suppress, error_on_row

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60  # the batch is retried after 1, 2, 4, 8 minutes
INTERRUPTED = "interrupted while sending; not resent to avoid a duplicate"
# The sweeper starts a sender only if no batch showed a sign of life for this long.
HEARTBEAT_KEY = "surveys:sender-heartbeat"
SENDER_IDLE_SECONDS = 120
# A chain waiting out its backoff runs no batch, so writes no heartbeat: it leaves the time its retry
# is due under these keys instead (per shard; the reminders' own), or the sweeper (every 5 minutes)
# and the hourly reminder run would start a second chain beside it.
RETRY_KEY = "surveys:sender-retry:{}"
REMINDER_RETRY_KEY = "surveys:reminder-retry"
# A batch whose database went away (a restart) is tried again after this, not at the sweeper's run.
DATABASE_LOST_RETRY_SECONDS = 30
# A batch starts no message after this share of the task's soft time limit: one started just before
# has ample time left (EMAIL_TIMEOUT per SMTP reply), and the task time to chain the next batch.
TIME_BUDGET_SHARE = 0.5
# 421: the server is closing the connection (smtplib closes it), whatever the command it answers.
SERVER_CLOSING = 421
# An enhanced status code (RFC 3463) opening a reply's text ("5.1.1 User unknown"), or in qmail's
# form at its end ("... by that name. (#5.1.1)").
ENHANCED_STATUS = re.compile(r"^\s*(\d)\.(\d{1,3})\.(\d{1,3})(?![\d.])|\(#(\d)\.(\d{1,3})\.(\d{1,3})\)")
# 5.1.x is the address's status: unknown mailbox, domain, bad syntax, moved. Not 5.1.7 and 5.1.8:
# they are about our sender address.
SENDER_ADDRESS_DETAILS = {"7", "8"}


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # refused for now, one recipient each: queued again for later
    # Seconds until the next batch is due: a transient error ended this one, or the only rows left
    # are refused for now and wait their backoff.
    retry_in: float | None = None

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped + self.deferred


class Pacer:
    """Keeps sends under `rate` per second (0: no pacing) without sleeping more than needed."""

    def __init__(self, rate: float):
        self.interval = 1 / rate if rate > 0 else 0
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic()) + self.interval


class Heartbeat:
    """A sign of life in the shared cache, written at most every few seconds. Without the cache the
    batch goes on, its rows in the database and its emails over SMTP (the sweeper may then start a
    second sender beside it, which sends nothing twice: rows are claimed one by one)."""

    def __init__(self):
        self.last = 0.0
        self.failed = False

    def beat(self) -> None:
        if time.monotonic() - self.last < 5:
            return
        self.last = time.monotonic()  # a cache that fails (or hangs) is asked again in 5 s too
        try:
            cache.set(HEARTBEAT_KEY, time.time(), timeout=SENDER_IDLE_SECONDS * 2)
        except Exception as exc:  # noqa: BLE001 - whatever the cache raises, sending goes on
            if not self.failed:
                logger.warning("Cache unreachable (%s): the survey batch goes on without its heartbeat",
                               first_line(exc))
            self.failed = True


def backoff(attempt: int) -> int:
    """Seconds before retry number `attempt`: 1, 2, 4, 8 minutes (16 once the cap is reached)."""
    return RETRY_BASE_SECONDS * 2 ** (min(attempt, MAX_ATTEMPTS) - 1)


def mark_retry(key: str, countdown: float) -> None:
    """A chain enqueued its retry `countdown` seconds ahead: it counts as alive until then."""
    try:
        cache.set(key, time.time() + countdown, timeout=int(countdown) + SENDER_IDLE_SECONDS)
    except Exception:  # fail open: at worst a second chain starts, and rows are claimed one by one
        logger.warning("Could not record a pending retry in the cache", exc_info=True)


def _retry_pending(due: float | None) -> bool:
    # Plus the heartbeat's margin: a busy worker may start the retry a little late.
    return due is not None and time.time() < due + SENDER_IDLE_SECONDS


def sender_alive() -> bool:
    """A batch beat lately, or a chain waits out its backoff. The cache down: no (fail open, so the
    sweeper still restarts the senders after a real death; a second chain sends nothing twice)."""
    retry_keys = [RETRY_KEY.format(shard) for shard in range(max(1, settings.SURVEY_SEND_PARALLEL))]
    try:
        seen = cache.get_many([HEARTBEAT_KEY, *retry_keys])
    except Exception:
        logger.warning("Cache unreachable: the sweeper assumes no survey sender is alive", exc_info=True)
        return False
    beat = seen.get(HEARTBEAT_KEY)
    return (beat is not None and time.time() - beat < SENDER_IDLE_SECONDS) or any(
        _retry_pending(seen.get(key)) for key in retry_keys
    )


def reminder_retry_pending() -> bool:
    """A reminder chain waits out its backoff (the cache down: no, fail open)."""
    try:
        return _retry_pending(cache.get(REMINDER_RETRY_KEY))
    except Exception:
        logger.warning("Cache unreachable: the reminder run assumes no retry is pending", exc_info=True)
        return False


def _address():
    # Where the email goes: the customer's current address, which the claim stores on the row for
    # emails.invitation_message; not the row's copy from the launch or the trigger (maybe days ago).
    return Lower(F("customer__email"))


def _suppressed(address_alias: str) -> Exists:
    """The address (lower-cased) bounced or complained."""
    return Exists(SuppressedAddress.objects.of_address(OuterRef(address_alias)))


def _queued(*, shard: int, shards: int):
    # A closed survey emails nobody: its queued rows wait (they go if it is opened again).
    queued = Invitation.objects.filter(state=InvitationState.QUEUED).exclude(survey__status=SurveyStatus.CLOSED)
    if shards > 1:
        queued = queued.alias(shard_of=Mod("id", shards)).filter(shard_of=shard)
    return queued


def due_invitations(now=None, *, shard: int = 0, shards: int = 1):
    """Queued rows whose time has come; with shards, only this shard's share (id modulo shards).

    Shards only spread the work: each row is still claimed by its conditional UPDATE.
    """
    return _queued(shard=shard, shards=shards).filter(send_after__lte=now or timezone.now())


def _refused_rows_due_in(*, shard: int, shards: int) -> float | None:
    """Seconds until the first row refused for now (put off by _mark_error) is due, if any is.

    A batch that leaves nothing else due ends the task's chain, and the sweeper would notice the
    row only minutes after its time. Other rows due later (a delayed trigger's) have their own task.
    """
    now = timezone.now()
    refused = _queued(shard=shard, shards=shards).filter(
        attempts__gt=0, send_after__gt=now, send_after__lte=now + timedelta(seconds=backoff(MAX_ATTEMPTS))
    )
    first = refused.order_by("send_after").values_list("send_after", flat=True).first()
    return None if first is None else max((first - now).total_seconds(), 1)


def _claim_fields(invitation: Invitation, claimed_at) -> dict:
    """What a claim writes besides the state and the address (CLAIM_SQL takes the customer's as it
    is then: "at the time of sending"): an expiry from the claim, as a worker killed mid-send leaves
    a row that may have been delivered, whose link must expire like any other (the sweeper fails it
    as it is; a sent row gets its expiry again from sent_at)."""
    return {"claimed_at": claimed_at, "expires_at": days_later(claimed_at, invitation.survey.expiry_days)}


def _claim(invitation: Invitation) -> bool:
    """Claim a row with no message to mark sent first (the batch's first, or after a failed send)."""
    return _sent_and_claimed(None, "", invitation)


def _mark_sent(invitation: Invitation, message_id: str) -> None:
    # Conditional: a bounce webhook may already have moved the row on; never move it back.
    Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENDING).update(
        **_sent_fields(invitation, message_id)
    )


def _mark_error(invitation: Invitation, exc: BaseException, *, transient: bool, put_off: bool = False) -> bool:
    """Queued again (True) or failed. `put_off`: this row alone waits its backoff (send_after), so
    neither this batch nor the next one claims it again at once; the others go meanwhile."""
    attempts = invitation.attempts + 1
    retry = transient and attempts < MAX_ATTEMPTS
    later = {"send_after": timezone.now() + timedelta(seconds=backoff(attempts))} if retry and put_off else {}
    Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENDING).update(
        state=InvitationState.QUEUED if retry else InvitationState.FAILED,
        attempts=attempts,
        last_error=error_on_row(repr(exc)),
        updated_at=timezone.now(),
        # expires_at kept: a retried interrupted row's first email may have arrived with this link
        **later,
    )
    invitation.attempts = attempts
    return retry


def _give_back(invitation: Invitation) -> None:
    """A claimed row never handed to the server, queued again as it was (its link's expiry kept)."""
    Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENDING).update(
        state=InvitationState.QUEUED, updated_at=timezone.now()
    )


def _mark_interrupted(invitation: Invitation) -> None:
    """As the sweeper fails a row left SENDING (fail_interrupted): the server may have the message."""
    Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENDING).update(
        state=InvitationState.FAILED, last_error=INTERRUPTED, updated_at=timezone.now()
    )


def _refused_for_now(exc: BaseException) -> bool:
    """Only this recipient is refused, for now (greylisted, mailbox full): the server and the
    connection are fine, the other recipients are not concerned. A 421 closes the connection."""
    return (
        isinstance(exc, smtplib.SMTPRecipientsRefused)
        and is_transient(exc)
        and all(code != SERVER_CLOSING for code, _ in exc.recipients.values())
    )


def _reply_text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _says_address_unknown(code: int, reply) -> bool:
    found = ENHANCED_STATUS.search(_reply_text(reply))
    if not (500 <= code < 600 and found):
        return False
    status, subject, detail = [part for part in found.groups() if part is not None]
    return status == "5" and subject == "1" and detail not in SENDER_ADDRESS_DETAILS


def address_unknown(exc: BaseException) -> bool:
    """The recipient refused for good at RCPT as an address that does not exist (5.1.1 unknown
    mailbox, 5.1.2 unknown domain, 5.1.3 bad syntax...): a hard bounce, told at once.

    By the enhanced status code only: a bare 550 (or 553) is also how servers refuse to relay or
    apply a policy, to every recipient alike, and suppressing on it could cost a whole audience
    its later surveys over one misconfigured relay. Such a refusal stays a plain failure."""
    return (
        isinstance(exc, smtplib.SMTPRecipientsRefused)
        and bool(exc.recipients)
        and all(_says_address_unknown(code, reply) for code, reply in exc.recipients.values())
    )


def _suppress_unknown(email: str, exc: smtplib.SMTPRecipientsRefused) -> None:
    """The address on SuppressedAddress as a hard bounce, as the provider's webhook lists one."""
    replies = "; ".join(f"{code} {_reply_text(reply)}" for code, reply in exc.recipients.values())
    address_suppress(email=email, kind=AddressEventKind.BOUNCED, detail=f"SMTP: refused at RCPT {replies}")


def _suppress_unknown_unless_erased(invitation: Invitation, exc: smtplib.SMTPRecipientsRefused) -> None:
    """The address refused at RCPT suppressed, unless the customer was erased since the claim
    (accounting.erasure blanked the row's address; it is opted out for good). The row locked till
    commit: an erasure waiting for it deletes the suppression row after. One query, on failure only."""
    with transaction.atomic():
        if Invitation.objects.select_for_update().filter(pk=invitation.pk).exclude(email="").exists():
            _suppress_unknown(invitation.email, exc)


def _mark_bounced(invitation: Invitation, exc: smtplib.SMTPRecipientsRefused) -> None:
    """The row BOUNCED (it did not arrive) and its address suppressed, as a provider's bounce does
    (webhooks.handle_tracking_event): no later launch, reminder or retry emails it ("bounced
    before"). last_error keeps the server's reply, which staff read (failures.failure_reason); of a
    customer erased while the row was in flight, neither its address nor a suppression come back."""
    with transaction.atomic():
        now = timezone.now()
        Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENDING).update(
            state=InvitationState.BOUNCED, bounced_at=now, attempts=invitation.attempts + 1,
            last_error=error_on_row(repr(exc)), updated_at=now,
        )
        _suppress_unknown_unless_erased(invitation, exc)
    invitation.attempts += 1


def _sent_message_id(message) -> str:
    # An anymail ESP backend reports the provider's id, which its webhooks quote back.
    status = getattr(message, "anymail_status", None)
    return (status and status.message_id) or message.extra_headers.get("Message-ID", "")


def _send_one(connection, invitation: Invitation, *, reminder: bool = False) -> str:
    message = invitation_message(invitation, reminder=reminder)
    message.connection = connection
    connection.open()  # once per batch: a no-op while open; send_messages would close one it opened
    connection.send_messages([message])  # raises on error: the backend is not fail_silently
    return _sent_message_id(message)


def _deliver(connection, invitation: Invitation, result: BatchResult) -> tuple[bool, str | None]:
    """Send one claimed invitation: (go on with the batch?, message id if sent)."""
    try:
        message_id = _send_one(connection, invitation)
    except SoftTimeLimitExceeded:
        raise  # no answer of the server's: send_batch ends the batch
    except Exception as exc:
        logger.warning("Invitation %s not sent (attempt %s): %r", invitation.pk, invitation.attempts + 1, exc)
        if address_unknown(exc):
            _mark_bounced(invitation, exc)
            result.failed += 1
            return True, None
        transient = is_transient(exc)
        only_this_one = transient and _refused_for_now(exc)
        queued_again = _mark_error(invitation, exc, transient=transient, put_off=only_this_one)
        if transient and not only_this_one:
            result.retry_in = backoff(invitation.attempts)
            return False, None  # the connection or the server: the rest would fail alike
        if queued_again:
            result.deferred += 1
        else:
            result.failed += 1
        return True, None
    result.sent += 1
    return True, message_id


def days_later(moment, days: int, *, at: dt_time | None = None):
    """`moment` plus whole days at the same local time of day: a weekly launch due at 06:00 stays
    at 06:00 over a daylight-saving change (and so on the day the 06:00 beat run sees it due); a
    link sent at 10:00 works until 10:00, and its reminder goes at the 10:00 run.

    A time the spring change skips that day is the one an hour later (02:30 is 03:30), and an
    hour the autumn change repeats is its first occurrence (fold=0). `at`: the time of day to keep
    instead of `moment`'s, for a schedule whose launch was moved out of such a gap (due at 02:30,
    stored as 03:30): the launches after it are at 02:30 again."""
    local = timezone.localtime(moment)
    wall = datetime.combine(local.date(), local.time() if at is None else at)
    return timezone.make_aware(wall + timedelta(days=days))


def _sent_fields(invitation: Invitation, message_id: str) -> dict:
    sent_at = timezone.now()
    return {
        "state": InvitationState.SENT,
        "sent_at": sent_at,
        "expires_at": days_later(sent_at, invitation.survey.expiry_days),
        "message_id": message_id[:255],
        "last_error": "",
        "updated_at": sent_at,
    }


# The claim, and the mark-sent of the message before it, as ONE statement written out: built by the
# ORM (a CASE per column, an OR of two conditions) it cost more Python per message than the database
# took to run it. `id IN` first: it lets PostgreSQL use the primary key instead of scanning for the OR
# (and so an ELSE is the other row); a NULL id (no message to mark sent) matches no row.
# The claimed row's customer is read by the statement itself (`latest`), not taken from the batch's
# read: since then they may have unsubscribed, lost their address, or it may have bounced. `reason`
# is launch.suppression_reason's, in its order ('' = may be emailed), and a row with one is
# suppressed by this claim, never emailed (no expiry). One sub-select sets every column. A row put
# off since the batch read it (refused for now, by another batch) waits its send_after. Both rows
# changed: `updated_at` is the claim's moment for each (the API's incremental pulls).
CLAIM_SQL = """
UPDATE surveys_invitation SET
    (state, sent_at, expires_at, message_id, last_error, claimed_at, email, suppression_reason, updated_at) = (
        SELECT
            CASE WHEN id = %(sent)s THEN %(sent_state)s
                WHEN latest.reason = '' THEN %(sending_state)s ELSE %(suppressed_state)s END,
            CASE WHEN id = %(sent)s THEN %(sent_at)s ELSE sent_at END,
            CASE WHEN id = %(sent)s THEN %(expires_at)s
                WHEN latest.reason = '' THEN %(claim_expires_at)s ELSE NULL END,
            CASE WHEN id = %(sent)s THEN %(message_id)s ELSE message_id END,
            CASE WHEN id = %(sent)s THEN %(last_error)s ELSE last_error END,
            CASE WHEN id = %(following)s THEN %(claimed_at)s ELSE claimed_at END,
            CASE WHEN id = %(following)s THEN latest.address ELSE email END,
            CASE WHEN id = %(following)s THEN latest.reason ELSE suppression_reason END,
            %(claimed_at)s
        FROM (
            SELECT c.email AS address, CASE
                WHEN c.survey_opt_out THEN %(opted_out)s
                WHEN c.email = '' THEN %(no_email)s
                WHEN EXISTS (
                    SELECT 1 FROM "surveys_suppressedaddress" WHERE "surveys_suppressedaddress"."email" = LOWER(c.email)
                ) THEN %(bounced_before)s
                ELSE '' END AS reason
            FROM accounting_customer c WHERE c.id = surveys_invitation.customer_id
        ) AS latest
    )
WHERE id IN (%(sent)s, %(following)s)
    AND ((id = %(sent)s AND state = %(sending_state)s) OR (id = %(following)s AND state = %(queued_state)s
        AND send_after <= %(claimed_at)s
        AND NOT EXISTS (SELECT 1 FROM surveys_survey v WHERE v.id = survey_id AND v.status = %(closed)s)))
RETURNING id, state, email
"""
NOTHING_SENT = {"sent_at": None, "expires_at": None, "message_id": "", "last_error": ""}

# PostgreSQL plans CLAIM_SQL once per connection (PREPARE): planned at every message, its subqueries
# took as long as running it, and cut the sending benchmark by about a fifth. A prepared statement
# outlives a rollback; a new connection (CONN_MAX_AGE, a lost one) prepares it again.
CLAIM_PARAMS = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", CLAIM_SQL)))
CLAIM_PARAM_TYPES = dict.fromkeys(["sent", "following"], "bigint") | dict.fromkeys(
    ["sent_at", "expires_at", "claimed_at", "claim_expires_at"], "timestamptz"
)  # the others: text
_prepared_on = weakref.WeakSet()  # the psycopg connections holding it


def _execute_claim(cursor, params: dict) -> None:
    if connection.vendor != "postgresql":
        cursor.execute(CLAIM_SQL, params)
        return
    if connection.connection not in _prepared_on:
        numbered = re.sub(r"%\((\w+)\)s", lambda name: f"${CLAIM_PARAMS.index(name[1]) + 1}", CLAIM_SQL)
        types = ", ".join(CLAIM_PARAM_TYPES.get(name, "text") for name in CLAIM_PARAMS)
        cursor.execute(f"PREPARE surveys_claim ({types}) AS {numbered}")
        _prepared_on.add(connection.connection)
    placeholders = ", ".join(["%s"] * len(CLAIM_PARAMS))
    cursor.execute(f"EXECUTE surveys_claim ({placeholders})", [params[name] for name in CLAIM_PARAMS])


def _sent_and_claimed(sent: Invitation | None, message_id: str, following: Invitation) -> bool:
    """Mark `sent` SENT and claim `following` in ONE conditional UPDATE (one round trip, one commit):
    True if `following` is now ours to send, to the address the claim stored on it.

    Each row keeps its own condition (sent: still SENDING; following: still QUEUED and its survey
    not closed, or it stays queued: "a closed survey emails nobody"). Not ours is rare: a closed
    survey, another worker claimed the row, or the claim suppressed it. RETURNING tells which rows
    changed, and to what.
    """
    fields = _sent_fields(sent, message_id) if sent is not None else NOTHING_SENT
    claim = _claim_fields(following, timezone.now())
    as_stored = connection.ops.adapt_datetimefield_value  # SQLite keeps naive UTC text
    params = {
        "sent": sent and sent.pk, "following": following.pk, "sent_state": InvitationState.SENT,
        "sending_state": InvitationState.SENDING, "queued_state": InvitationState.QUEUED,
        "suppressed_state": InvitationState.SUPPRESSED, "closed": SurveyStatus.CLOSED,
        "opted_out": SuppressionReason.OPTED_OUT, "no_email": SuppressionReason.NO_EMAIL,
        "bounced_before": SuppressionReason.BOUNCED_BEFORE,
        "sent_at": as_stored(fields["sent_at"]), "expires_at": as_stored(fields["expires_at"]),
        "message_id": fields["message_id"], "last_error": fields["last_error"],
        "claimed_at": as_stored(claim["claimed_at"]), "claim_expires_at": as_stored(claim["expires_at"]),
    }
    with connection.cursor() as cursor:
        _execute_claim(cursor, params)
        changed = {pk: (state, email) for pk, state, email in cursor.fetchall()}
    state, address = changed.get(following.pk, (None, None))
    if state != InvitationState.SENDING:
        return False
    following.claimed_at, following.expires_at, following.email = claim["claimed_at"], claim["expires_at"], address
    return True


def _flush_and_claim(sent: tuple | None, invitation: Invitation | None) -> bool:
    """Record the last message as sent and claim the next row in one commit (not two).

    No SMTP talk happens between the two, so the duplicate window is still the one message
    between the server's 250 and this commit.
    """
    if sent is not None and invitation is not None:
        return _sent_and_claimed(*sent, invitation)
    if sent is not None:
        _mark_sent(*sent)
    return invitation is not None and _claim(invitation)


def send_batch(*, batch_size: int | None = None, shard: int = 0, shards: int = 1) -> BatchResult:
    """Send up to one batch of due invitations (of one shard) over one SMTP connection."""
    batch_size = batch_size or settings.SURVEY_SEND_BATCH_SIZE
    # Opt-out, address and survey status are checked by each row's claim, as they are then.
    due = due_invitations(shard=shard, shards=shards).select_related("survey", "customer")
    rows = list(due.order_by("send_after", "pk")[:batch_size])
    result = BatchResult()
    if not rows:
        return result
    pacer, heartbeat, deadline = Pacer(settings.SURVEY_SEND_RATE_PER_SECOND), Heartbeat(), _deadline()
    connection, sent, in_flight, waiting = get_connection(), None, None, None
    try:
        for invitation in rows:
            if time.monotonic() > deadline:
                break  # the rest stay queued, for the next batch the task chains
            heartbeat.beat()
            try:
                claimed = _flush_and_claim(sent, invitation)
            except CONNECTION_LOST as exc:
                # The database went away (a restart): the message just sent is recorded below, on
                # a new connection, and the task comes back for the rest instead of the sweeper.
                logger.warning("Survey batch stopped: database connection lost (%s)", first_line(exc))
                result.retry_in = DATABASE_LOST_RETRY_SECONDS
                break
            sent = None
            if not claimed:
                result.skipped += 1  # another process got there first, the survey closed, or suppressed
                continue
            waiting = invitation  # claimed, not handed to the server yet: a stop gives it back
            pacer.wait()
            waiting, in_flight = None, invitation  # from here the server may get it: "interrupted"
            go_on, message_id = _deliver(connection, invitation, result)
            in_flight = None
            sent = (invitation, message_id) if message_id is not None else None
            if not go_on:
                break
    except SoftTimeLimitExceeded:
        # The task must stop before its hard kill. The message in flight may have reached the server
        # (and the connection is out of step, a late reply would be read as the next one's).
        if in_flight is not None:
            _mark_interrupted(in_flight)
            result.failed += 1
        if waiting is not None:
            _give_back(waiting)
        logger.warning("Survey batch stopped at the task's soft time limit")
    finally:
        _record_sent(sent)
        _close_quietly(connection)
    if result.retry_in is None and not more_due(shard=shard, shards=shards):
        result.retry_in = _refused_rows_due_in(shard=shard, shards=shards)
    logger.info(
        "Survey batch: %s sent, %s failed, %s skipped, %s refused for now",
        result.sent, result.failed, result.skipped, result.deferred,
    )
    return result


def _record_sent(sent: tuple | None) -> None:
    """The batch's last message recorded as sent: the server accepted it. Over a new connection if
    the database was restarted meanwhile, not left SENDING for the sweeper to fail as interrupted
    (as if it might not have arrived: no reminder, and staff read it failed)."""
    if sent is not None:
        invitation, _ = sent
        written_after_reconnecting(lambda: _flush_and_claim(sent, None), what=f"invitation {invitation.pk} as sent")


def _deadline() -> float:
    """When a batch stops starting messages (time.monotonic)."""
    return time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT * TIME_BUDGET_SHARE


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # a dead connection may fail to say QUIT; nothing left to do with it
        logger.debug("SMTP connection close failed", exc_info=True)


def more_due(*, shard: int = 0, shards: int = 1) -> bool:
    return due_invitations(shard=shard, shards=shards).exists()


# --- Sweeper ---------------------------------------------------------------------------------------


def fail_interrupted(now=None) -> int:
    """Rows left SENDING by a dead worker: failed, never resent (see the module docstring)."""
    now = now or timezone.now()
    stale = now - timedelta(minutes=settings.SURVEY_SENDING_STALE_MINUTES)
    count = Invitation.objects.filter(state=InvitationState.SENDING, claimed_at__lt=stale).update(
        state=InvitationState.FAILED, last_error=INTERRUPTED, updated_at=timezone.now()
    )
    if count:
        logger.warning("%s survey invitations interrupted while sending: marked failed, not resent", count)
    return count


def needs_sender() -> bool:
    """Due rows and no sender alive (no batch running, no chain waiting out its backoff): the chain
    of send tasks died (worker killed, Redis down), or nothing was enqueued for rows that have
    become due (a trigger delayed past tasks.LONGEST_COUNTDOWN)."""
    return not sender_alive() and more_due()


# --- Reminders ---------------------------------------------------------------------------------------


def reminders_due(now=None):
    """Non-responders of surveys with a reminder, sent long enough ago and not expired yet, who can
    still be emailed: not opted out since, their address not suppressed since (bounce, complaint).

    Rows that will never get a reminder must not be due: the task re-queues itself while any row is
    due, and such rows at the head of the order would fill every batch without being claimed.
    """
    now = now or timezone.now()
    return (
        Invitation.objects.filter(
            _sent_long_enough_ago(now), state=InvitationState.SENT, reminder_sent_at__isnull=True,
            reminder_claimed_at__isnull=True, customer__survey_opt_out=False,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .alias(reminder_address=_address())
        .exclude(reminder_address="")
        .filter(~_suppressed("reminder_address"))
    )


def _sent_long_enough_ago(now) -> Q:
    """Sent N days before `now` on the company's clock (days_later backwards, so a reminder due 3
    days after Friday 10:00 goes at Monday's 10:00 run over a daylight-saving change too): one
    cutoff per distinct reminder_days, compared with sent_at in SQL, each under the
    (survey, state) index."""
    surveys_by_days = defaultdict(list)
    surveys = Survey.objects.filter(reminder_days__isnull=False).exclude(status=SurveyStatus.CLOSED)
    for pk, reminder_days in surveys.values_list("pk", "reminder_days"):
        surveys_by_days[reminder_days].append(pk)
    due = Q(pk__in=[])
    for reminder_days, survey_ids in surveys_by_days.items():
        due |= Q(survey__in=survey_ids, sent_at__lte=days_later(now, -reminder_days))
    return due


def _claim_reminder(invitation: Invitation) -> bool:
    # What reminders_due checked is checked again here, as it is now: while the batch ran the customer
    # may have unsubscribed, their address been changed, cleared or suppressed, the survey closed.
    # The reminder goes to the customer's current address (the one reminders_due read and checked;
    # changed since, the claim fails and the next batch reads the new one), not stored: only
    # non-responders are reminded, and an anonymous survey's rows must not differ by it.
    invitation.email = invitation.customer.email
    # Every condition on the invitation row itself, the customer and the survey in EXISTS: a join
    # makes Django write `WHERE id IN (SELECT ...)`, and a claim that waited for another run's
    # lock on the row then re-checks only the id, so both runs claimed (and sent) the reminder.
    may_be_reminded = (
        Customer.objects.filter(pk=OuterRef("customer_id"), survey_opt_out=False, email=invitation.email)
        .alias(reminder_address=Lower("email"))
        .filter(~_suppressed("reminder_address"))
    )
    closed = Survey.objects.filter(pk=OuterRef("survey_id"), status=SurveyStatus.CLOSED)
    return bool(
        Invitation.objects.filter(pk=invitation.pk, state=InvitationState.SENT, reminder_claimed_at__isnull=True)
        # A sent row always holds the address it went to; blank, the customer's personal data was
        # erased (accounting.erasure). On the row itself: a claim that waited for the erasure's lock on
        # it re-checks the row as it is now, but reads the customer in EXISTS as it was before.
        .exclude(email="")
        .filter(Exists(may_be_reminded), ~Exists(closed))
        .update(reminder_claimed_at=timezone.now())
    )


def _remind(connection, invitation: Invitation, refused_for_now: set[int]) -> bool | None:
    """True: sent; False: failed for good; None: transient, claim given back for the next run
    (its id added to `refused_for_now` when only this recipient was refused, for now)."""
    try:
        _send_one(connection, invitation, reminder=True)
    except SoftTimeLimitExceeded:
        raise  # the claim stays: a reminder that may have gone is not resent (send_reminders)
    except Exception as exc:
        logger.warning("Reminder for invitation %s not sent: %r", invitation.pk, exc)
        if address_unknown(exc):
            _suppress_unknown_unless_erased(invitation, exc)  # the invitation itself was delivered
            return False
        if is_transient(exc):
            Invitation.objects.filter(pk=invitation.pk).update(reminder_claimed_at=None)
            if _refused_for_now(exc):
                refused_for_now.add(invitation.pk)
            return None
        return False
    # The server accepted it: recorded over a new connection if the database was restarted meanwhile.
    written_after_reconnecting(lambda: _mark_reminded(invitation), what=f"the reminder of invitation {invitation.pk}")
    return True


def _mark_reminded(invitation: Invitation) -> None:
    now = timezone.now()
    # Reminders go to non-responders only: an anonymous survey's row shows nothing of it (its
    # reminder_sent_at reads null), and a new updated_at would set it apart from the answered ones.
    shown = {} if invitation.survey.anonymous else {"updated_at": now}
    Invitation.objects.filter(pk=invitation.pk).update(reminder_sent_at=now, **shown)


def send_reminders(*, batch_size: int | None = None) -> BatchResult:
    """At most one reminder per invitation, same link. A reminder claimed by a worker that died is
    not resent (at most once, as for invitations). Who may not be emailed any more is not due
    (reminders_due), so every row read is claimed here, was claimed by another process, or has
    just become not due (or got a new address, read by the next batch): a run never leaves the same
    rows due for the next one."""
    batch_size = batch_size or settings.SURVEY_SEND_BATCH_SIZE
    rows = list(reminders_due().select_related("survey", "customer").order_by("sent_at", "pk")[:batch_size])
    result = BatchResult()
    if not rows:
        return result
    pacer, connection, deadline = Pacer(settings.SURVEY_SEND_RATE_PER_SECOND), get_connection(), _deadline()
    refused_for_now: set[int] = set()
    try:
        for invitation in rows:
            if time.monotonic() > deadline:
                break  # the rest stay due, for the next batch the task chains
            if not _claim_reminder(invitation):
                result.skipped += 1  # another process got there first, or no longer due (see the claim)
                continue
            pacer.wait()
            outcome = _remind(connection, invitation, refused_for_now)
            if outcome is None:
                if invitation.pk in refused_for_now:
                    continue  # this mailbox only (full, greylisted): the others still get theirs; the
                    # hourly run tries it again until its link expires
                result.retry_in = RETRY_BASE_SECONDS  # the task backs off from it, and gives up
                break  # the server or the connection: the rest would fail alike
            result.sent += outcome
            result.failed += not outcome
    except SoftTimeLimitExceeded:
        # Stop before the hard kill; the reminder in flight keeps its claim: not resent (at most once).
        logger.warning("Reminder batch stopped at the task's soft time limit")
    finally:
        _close_quietly(connection)
    return result


def expire_invitations(now=None) -> int:
    """Unanswered invitations past their expiry: one UPDATE. An anonymous survey's row keeps its
    updated_at: it reads "delivered" before and after, and only unanswered rows expire."""
    now = now or timezone.now()
    anonymous = Exists(Survey.objects.filter(pk=OuterRef("survey_id"), anonymous=True))
    return Invitation.objects.filter(state=InvitationState.SENT, expires_at__lte=now).update(
        state=InvitationState.EXPIRED,
        updated_at=Case(When(anonymous, then=F("updated_at")), default=Value(timezone.now())),
    )
