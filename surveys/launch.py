"""Launching surveys: one invitation per customer of the audience, queued or suppressed.

Audience (SPEC §4 "all active customers"): every customer who has not opted out of surveys. We do
not narrow "active" to customers with recent revenue or a recent acquisition date: the ledger may
lag (imports run monthly) and a customer who stopped buying is exactly whose opinion the company
needs. Opted-out customers still get a suppressed row so the audit shows them; customers without
an email or whose address bounced likewise. A hand-picked list survey has no audience rule: each
launch goes to the customers an API client names (`survey_launch(customers=...)`), under the same
suppression rules.

Suppression is decided in one query per launch (EXISTS sub-queries), rows are written with
bulk_create, and sending is enqueued after commit. Reasons, first match wins: opted out, no email,
bounced before, throttled. Throttled means an invitation to any survey was sent to the customer in
the last `survey.throttle_days` days (calendar days in the company's zone: today and the days
before it, so a survey relaunched every N days reaches its customers again; an invitation counts
on the day it was queued for sending, its launch's, if the sending ran past midnight), or is queued
or being sent right now (two launches on the same day must not email one customer twice). The
second part holds whatever throttle_days is: 0 turns off the window, not the protection against a
retried or double-submitted launch.

Launches of one survey are serialized: each locks the survey row first (SELECT ... FOR UPDATE), so
a second launch waits for the first to commit and then sees its queued rows as pending. On
PostgreSQL, whatever may invite one customer twice is serialized too, with transaction-scoped
advisory locks: a launch takes the "every customer" lock exclusively; a trigger takes it shared, plus
the lock of its one customer. So two launches of different surveys, a launch and a trigger, or two
triggers for one customer wait for each other and the second sees the first's row as pending, while
triggers for different customers still run side by side. (SQLite serializes every write anyway.)

A transactional trigger is one event: the same survey, customer and non-empty reference give one
invitation (a partial unique constraint), and a repeated trigger gets the existing row back. A
trigger without a reference is never recognised as a repeat.

Failed invitations can be queued again (`survey_retry_failed`, a staff button and an API action),
each checked anew as a launch's row would be. Rows the sweeper failed as interrupted mid-send may
have reached the customer, so they are retried only when asked for by name, and one that would now be
suppressed is left failed (its link still works) rather than suppressed.

A sample is drawn from the audience with `random.Random(seed)` over the customer ids in ascending
order; the seed is stored on the Launch, so the draw can be replayed for an audit.
"""

import logging
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from accounting.models import Customer
from accounting.selectors import customer_segment_exists, unknown_segment_message

from .models import (
    AudienceKind,
    Invitation,
    InvitationState,
    Launch,
    LaunchChannel,
    SuppressedAddress,
    SuppressionReason,
    Survey,
    SurveyKind,
    SurveyStatus,
    hash_token,
    new_token_salt,
    token_from_salt,
)
from .selectors import launch_progress
from .sending import INTERRUPTED, days_later

logger = logging.getLogger(__name__)

BULK_BATCH = 1000
# The throttle counts an invitation sent later than this after it was queued on the day it went
# (invited_since); a launch's own sending, however large, ends well within it.
LATE_SEND = timedelta(hours=6)
# Advisory lock keys (two int4 each): (INVITING, 0) stands for every customer, (INVITING_ONE, id)
# for one. Any two numbers would do; these spell "cxin" and "cxi1".
INVITING, INVITING_ONE = 0x6378696E, 0x63786931


@dataclass(frozen=True)
class Audience:
    kind: str
    segment: str
    sample_percent: Decimal | None


LISTED = Audience(kind=AudienceKind.LIST, segment="", sample_percent=None)  # the customers come by name


def _audience(survey: Survey, segment: str | None, sample_percent) -> Audience:
    """Each explicit argument (command line, launch form) replaces its own part of the survey's
    stored audience: `--sample 10` on a survey stored for the SMB segment draws 10 % of SMB, and
    `--segment SMB` on a survey stored as a 10 % sample draws 10 % of SMB. A hand-picked list
    has no audience to override: a segment or a sample would reach customers not on the list."""
    if survey.audience == AudienceKind.LIST:
        raise ValidationError(
            f"A hand-picked list is invited through the API (POST /api/surveys/{survey.pk}/invite/), not launched."
        )
    if segment is None:
        stored_for = (AudienceKind.SEGMENT, AudienceKind.SAMPLE)  # a stored sample may be of one segment
        segment = survey.audience_segment if survey.audience in stored_for else ""
    if sample_percent is None:
        sample_percent = survey.sample_percent if survey.audience == AudienceKind.SAMPLE else None
    percent = None if sample_percent is None else Decimal(str(sample_percent))
    if percent is not None and not Decimal("0") < percent <= Decimal("100"):
        raise ValidationError("The sample must be more than 0 and at most 100 percent.")
    kind = AudienceKind.SAMPLE if percent is not None else AudienceKind.SEGMENT if segment else AudienceKind.ALL
    return Audience(kind=kind, segment=segment or "", sample_percent=percent)


def audience_segment_error(audience: str, segment: str) -> str | None:
    """Why a survey may not go to `segment`: no customer carries it (a typo, or a segment its
    customers have all left), so a launch would reach nobody. The form, the API and the launch
    share it."""
    if segment and audience in (AudienceKind.SEGMENT, AudienceKind.SAMPLE) and not customer_segment_exists(segment):
        return unknown_segment_message(segment)
    return None


def audience_change_error(stored: Survey | None, audience: str, segment: str) -> str | None:
    """audience_segment_error for an edit: checked only when the audience differs from the one
    stored, so a survey whose segment has since emptied stays editable in its other settings
    (its launches say why they reach nobody). The staff form, the admin and the API share it."""
    if stored is not None and (audience, segment or "") == (stored.audience, stored.audience_segment):
        return None
    return audience_segment_error(audience, segment)


def audience_customers(audience: Audience) -> QuerySet:
    customers = Customer.objects.all()
    if audience.segment:
        customers = customers.filter(segment=audience.segment)
    return customers


def _draw_sample(ids: list[int], percent: Decimal, seed: str) -> list[int]:
    size = int((Decimal(len(ids)) * percent / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return sorted(random.Random(seed).sample(sorted(ids), size))


def throttle_start(throttle_days: int, now):
    """The first moment an earlier invitation still throttles a customer: "invited in the last N
    days" counts calendar days in the company's zone, so a survey relaunched every N days at the
    same hour (its emails sent seconds after the hour) is not throttled by its own last launch."""
    first_day = timezone.localdate(now) - timedelta(days=throttle_days - 1)
    return timezone.make_aware(datetime.combine(first_day, time.min))


def invited_since(start, now) -> Q:
    """Invitations sent that were queued for sending (send_after: a launch's moment, a delayed
    trigger's send time) from `start` to `now`. Not by sent_at: a launch at 23:45 whose sending
    runs past midnight invited its customers that day, so its relaunch N days later at 23:45
    reaches them all again. One sent more than LATE_SEND after it was queued (held up by an outage
    or a backlog) counts on the day it went: its customer got it then. (A row goes at or after its
    send_after: the sent_at bound drops no real row, and lets the (customer, sent_at) index find
    the few to look at.)"""
    late_after = ExpressionWrapper(F("send_after") + LATE_SEND, output_field=DateTimeField())
    on_time = Q(send_after__gte=start, send_after__lte=now, sent_at__lte=late_after)
    return Q(sent_at__gte=start) & (on_time | Q(sent_at__gt=late_after))


@transaction.atomic
def survey_reopened(survey: Survey) -> int:
    """A closed survey opened again: its waiting rows go out now, so each is checked against the
    throttle as a launch would check it (while closed they held nobody back, and others may have
    invited the customer since). Those of customers invited elsewhere are suppressed, throttled;
    returns how many. The others are queued for sending now, the moment the throttle counts them
    from (invited_since), not days ago. Under a launch's lock: a launch of another survey at the
    same moment would not see these rows as pending, nor these UPDATEs its rows."""
    _lock_customers()
    now = timezone.now()
    elsewhere = Invitation.objects.filter(customer=OuterRef("customer_id")).exclude(survey=survey)
    waiting = Invitation.objects.filter(survey=survey, state=InvitationState.QUEUED)
    throttled = waiting.filter(_invited_within(survey, now, elsewhere)).update(
        state=InvitationState.SUPPRESSED, suppression_reason=SuppressionReason.THROTTLED, updated_at=now
    )
    # A delayed trigger's later time stays.
    waiting.filter(send_after__lt=now).update(send_after=now, updated_at=now)
    return throttled


def _invited_within(survey: Survey, now, invitations: QuerySet, *, open_here: bool = False) -> Exists:
    # Queued rows of a closed survey wait and may never go: they do not hold the customer back.
    waiting = Q(state=InvitationState.QUEUED) & ~Q(survey__status=SurveyStatus.CLOSED)
    pending = Q(state=InvitationState.SENDING) | waiting
    if survey.throttle_days:
        pending |= invited_since(throttle_start(survey.throttle_days, now), now)
    if open_here:
        # A link of this survey sent and neither answered nor expired yet: whatever the throttle,
        # a hand-picked list sent again (an API client's retry) does not email its customer twice.
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        pending |= Q(survey=survey, state=InvitationState.SENT) & unexpired
    return Exists(invitations.filter(pending))


def _throttled(survey: Survey, now, *, open_here: bool = False) -> Exists:
    invitations = Invitation.objects.filter(customer=OuterRef("pk"))
    return _invited_within(survey, now, invitations, open_here=open_here)


def _with_suppression(customers: QuerySet, survey: Survey, now, *, open_here: bool = False) -> QuerySet:
    """Annotate each customer with the facts that suppress it: one query, no per-customer look-up."""
    bounced = Exists(SuppressedAddress.objects.of_address(Lower(OuterRef("email"))))
    return customers.annotate(bounced_before=bounced, throttled=_throttled(survey, now, open_here=open_here))


def suppression_reason(row: dict) -> str:
    if row["survey_opt_out"]:
        return SuppressionReason.OPTED_OUT
    if not row["email"]:
        return SuppressionReason.NO_EMAIL
    if row["bounced_before"]:
        return SuppressionReason.BOUNCED_BEFORE
    if row["throttled"]:
        return SuppressionReason.THROTTLED
    return ""


def _customer_rows(
    customers: QuerySet, survey: Survey, now, *, open_here: bool = False, keep: bool = False
) -> list[dict]:
    """The customers to invite, with their suppression facts. `keep`: each row read is also locked
    FOR KEY SHARE until the transaction ends (_keep_customers), and a customer deleted meanwhile
    is not read."""
    fields = ["pk", "email", "language", "segment", "survey_opt_out", "bounced_before", "throttled"]
    rows = _with_suppression(customers, survey, now, open_here=open_here).order_by("pk").values(*fields)
    return _keep_customers(rows) if keep else list(rows)


def _keep_customers(rows: QuerySet) -> list[dict]:
    """The rows of a values() query of customers, each locked FOR KEY SHARE in the same statement.

    Django checks foreign keys at commit only: a customer deleted while their invitation is being
    written failed the whole transaction at commit (a trigger's 500, a launch lost). Locked, the
    delete waits for this commit and is then refused by the foreign key; a delete already under
    way makes this read wait and skip the row. KEY SHARE leaves the customer's edits free.
    Django's select_for_update has no KEY SHARE, hence the SQL suffix."""
    if connection.vendor != "postgresql":
        return list(rows)  # SQLite serializes every write anyway
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE OF {connection.ops.quote_name(Customer._meta.db_table)}", params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _new_invitation(survey: Survey, row: dict, *, now, **extra) -> Invitation:
    reason = suppression_reason(row)
    salt = new_token_salt()
    return Invitation(
        survey=survey,
        customer_id=row["pk"],
        email=row["email"],
        segment=row["segment"],
        language=survey.language or row["language"],
        token_salt=salt,
        token_hash=hash_token(token_from_salt(salt)),  # bulk_create skips save(), which sets it
        state=InvitationState.SUPPRESSED if reason else InvitationState.QUEUED,
        suppression_reason=reason,
        created_at=now,
        **extra,
    )


def launch_refusal(survey: Survey) -> str | None:
    """Why this survey cannot be launched at all, or None (the survey page hides its launch form)."""
    if survey.kind != SurveyKind.RELATIONSHIP:
        return "Only relationship surveys are launched; transactional ones are triggered per event."
    if survey.imported:
        return "An imported survey holds historical answers and cannot be launched."
    if survey.status == SurveyStatus.CLOSED:
        return "This survey is closed."
    return None


def _check_launchable(survey: Survey) -> None:
    refusal = launch_refusal(survey)
    if refusal:
        raise ValidationError(refusal)


# What staff read when a launch (or a retry) could not hand its sending to the broker.
SENDING_NOT_STARTED = (
    "Sending has not started: the task queue (Redis) is unreachable. The invitations stay queued; "
    "the sending sweeper (every 5 minutes) starts them once it is back."
)


def _enqueue_sending(countdown: float = 0, *, tell=None) -> None:
    """Start the senders after commit; `tell` (a Launch, a Retry) gets `sending_queued`, False when
    the broker refused them."""
    from .tasks import enqueue_senders

    def hand_over():
        queued = enqueue_senders(countdown=countdown)
        if tell is not None:
            tell.sending_queued = queued

    # robust: with the broker down the invitations are committed, queued, and the sweeper starts
    # the senders once it is back; the launch must not fail (a 500 after the rows were written).
    transaction.on_commit(hand_over, robust=True)


@transaction.atomic
def survey_launch(
    *, survey: Survey, user=None, via: str = LaunchChannel.SCHEDULE, segment: str | None = None, sample_percent=None,
    customers: Collection[str] | None = None,
) -> Launch:
    """Invite the survey's audience (or the given segment / sample): every customer gets a row.

    A hand-picked list survey is given its `customers` instead, by external id (duplicates count
    once; an unknown id refuses the whole list). A customer still holding an open link of this
    survey gets a row suppressed as throttled, as a relaunch inside the throttle would give it.
    """
    # Waits for a concurrent launch of this survey to commit, then reads the survey as it left it.
    survey.refresh_from_db(from_queryset=Survey.objects.select_for_update())
    _check_launchable(survey)
    if customers is not None:
        if segment is not None or sample_percent is not None:
            raise TypeError("A hand-picked list takes neither a segment nor a sample.")
        return _launch(survey, LISTED, _listed_customers(survey, customers), user=user, via=via)
    audience = _audience(survey, segment, sample_percent)
    if error := audience_segment_error(audience.kind, audience.segment):
        raise ValidationError({"segment": error})
    return _launch(survey, audience, audience_customers(audience), user=user, via=via)


def _listed_customers(survey: Survey, external_ids: Collection[str]) -> QuerySet:
    if survey.audience != AudienceKind.LIST:
        raise ValidationError(
            "This survey's audience is not a hand-picked list: launch it instead "
            f"(POST /api/surveys/{survey.pk}/launch/)."
        )
    wanted = set(external_ids)
    customers = Customer.objects.filter(external_id__in=wanted)
    unknown = wanted.difference(customers.values_list("external_id", flat=True))
    if unknown:
        raise ValidationError({"customers": [f"No customer has the external id {eid!r}." for eid in sorted(unknown)]})
    return customers


def _launch(survey: Survey, audience: Audience, customers: QuerySet, *, user, via: str) -> Launch:
    """One launch to `customers` (drawing the audience's sample from them): rows written, sending queued."""
    _lock_customers()
    now = timezone.now()
    # A customer deleted meanwhile is skipped; one deleted later waits for this launch's commit.
    rows = _customer_rows(customers, survey, now, open_here=audience.kind == AudienceKind.LIST, keep=True)
    seed = ""
    if audience.sample_percent is not None:
        seed = secrets.token_hex(8)
        # Drawn in Python from the rows already read: no id list sent back to the database.
        sampled = set(_draw_sample([row["pk"] for row in rows], audience.sample_percent, seed))
        rows = [row for row in rows if row["pk"] in sampled]
    launch = Launch.objects.create(
        survey=survey, audience=audience.kind, audience_segment=audience.segment,
        sample_percent=audience.sample_percent, sample_seed=seed, launched_at=now,
        launched_by=user, via=via, audience_size=len(rows),
    )
    invitations = [_new_invitation(survey, row, now=now, launch=launch, send_after=now) for row in rows]
    Invitation.objects.bulk_create(invitations, batch_size=BULK_BATCH)
    _activate(survey, now)
    _enqueue_sending(tell=launch)
    return launch


def _activate(survey: Survey, now) -> None:
    survey.status = SurveyStatus.ACTIVE
    fields = ["status", "updated_at"]
    if survey.repeat_days and survey.next_launch_at is None:  # a first launch starts the schedule
        survey.next_launch_at = days_later(now, survey.repeat_days)
        survey.launch_time_of_day = timezone.localtime(now).time()
        fields += ["next_launch_at", "launch_time_of_day"]
    survey.save(update_fields=fields)


def launch_counts(launch: Launch) -> dict:
    """Audience, queued and suppressed by reason: what the command and the UI report."""
    progress = launch_progress(launch)
    return {
        "audience": launch.audience_size,
        "queued": progress.audience - progress.suppressed,
        "suppressed": {reason: getattr(progress, reason) for reason in SuppressionReason.values},
    }


@transaction.atomic
def invitation_get_or_create_transactional(
    *, survey: Survey, customer: Customer, touchpoint: str, reference: str = "", delay: timedelta | None = None
) -> tuple[Invitation, bool]:
    """One invitation after an event (order, ticket), queued or suppressed like a launch's; and
    whether it is new. The same survey, customer and non-empty reference are one event: a retried
    trigger gets the first one's invitation back (touchpoint and delay as the first gave them)."""
    if survey.kind != SurveyKind.TRANSACTIONAL:
        raise ValidationError("Only a transactional survey is triggered per event.")
    _keep_survey(survey)
    _lock_customers(customer.pk)
    if existing := _same_event(survey, customer, reference):
        return existing, False  # a retried trigger gets its answer even once the survey is closed
    if survey.status == SurveyStatus.CLOSED:
        raise ValidationError("This survey is closed.")
    now = timezone.now()
    rows = _customer_rows(Customer.objects.filter(pk=customer.pk), survey, now, keep=True)
    if not rows:  # deleted since the request named them: as if an unknown id had been posted
        raise ValidationError({"customer": f"No customer has the external id {customer.external_id!r}."})
    (row,) = rows
    delay = delay or timedelta(0)
    invitation = _new_invitation(
        survey, row, now=now, touchpoint=touchpoint, reference=reference, send_after=now + delay
    )
    try:
        with transaction.atomic():  # a savepoint: the outer transaction survives a duplicate
            invitation.save()
    except IntegrityError:
        # A concurrent trigger of the same event inserted first (the unique constraint waited for
        # its commit); anything else is a real error.
        if existing := _same_event(survey, customer, reference):
            return existing, False
        raise
    if invitation.state == InvitationState.QUEUED:
        # Past tasks.LONGEST_COUNTDOWN nothing is enqueued (a long ETA is redelivered by Redis):
        # the sweeper starts the senders once the row is due.
        _enqueue_sending(countdown=delay.total_seconds())
    return invitation, True


@dataclass
class Retry:
    queued: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason, as a launch counts them
    # Interrupted rows that would now be suppressed, left failed as they were (see survey_retry_failed).
    kept_interrupted: int = 0
    sending_queued: bool | None = None  # after commit: False when the broker refused the senders


RETRY_CHUNK = 10_000  # ids per UPDATE


@transaction.atomic
def survey_retry_failed(*, survey: Survey, include_interrupted: bool = False) -> Retry:
    """Queue the survey's failed invitations again (the same rows and links), after the SMTP
    problem that failed them is mended. Each is checked anew like a launch's row: a customer who
    opted out, lost their address, bounced or was invited elsewhere since is suppressed with that
    reason, and one customer is queued once. The address is the customer's current one, so a
    corrected address is used. Interrupted rows (maybe delivered) only with `include_interrupted`;
    one that would now be suppressed is left as it was, failed: its email may have arrived, and a
    suppressed row's link reads "not found" (responses.invitation_find)."""
    survey.refresh_from_db(from_queryset=Survey.objects.select_for_update())
    if survey.status == SurveyStatus.CLOSED:
        raise ValidationError("This survey is closed.")
    _lock_customers()
    # Not survey.invitations: a related manager sets each row's survey, reading the deferred
    # survey_id back one query per row.
    failed = Invitation.objects.filter(survey=survey, state=InvitationState.FAILED)
    if not include_interrupted:
        failed = failed.exclude(last_error=INTERRUPTED)
    invitations = list(failed.order_by("id").values_list("id", "customer_id", "last_error"))
    now = timezone.now()
    customers = Customer.objects.filter(pk__in={customer_id for _, customer_id, _ in invitations})
    rows = {row["pk"]: row for row in _customer_rows(customers, survey, now)}
    by_reason, queued_customers, kept = defaultdict(list), set(), 0
    for invitation_id, customer_id, last_error in invitations:
        row = rows[customer_id]
        reason = suppression_reason(row)
        if not reason and customer_id in queued_customers:
            reason = SuppressionReason.THROTTLED  # two failed rows of one customer: one email
        if reason and last_error == INTERRUPTED:
            kept += 1  # not resent, and its link (maybe delivered) still opens the survey
            continue
        by_reason[reason].append(invitation_id)
        if not reason:
            queued_customers.add(customer_id)
    # One UPDATE per outcome (and per chunk of ids), the address the customer's current one.
    current_email = Subquery(Customer.objects.filter(pk=OuterRef("customer_id")).values("email")[:1])
    for reason, ids in by_reason.items():
        for start in range(0, len(ids), RETRY_CHUNK):
            Invitation.objects.filter(pk__in=ids[start : start + RETRY_CHUNK]).update(
                state=InvitationState.SUPPRESSED if reason else InvitationState.QUEUED,
                suppression_reason=reason, email=current_email, attempts=0, last_error="",
                claimed_at=None, send_after=now, updated_at=now,
            )
    counts = Counter({reason or "queued": len(ids) for reason, ids in by_reason.items()})
    retry = Retry(queued=counts.pop("queued", 0), suppressed=dict(counts), kept_interrupted=kept)
    if retry.queued:
        _enqueue_sending(tell=retry)
    return retry


def _keep_survey(survey: Survey) -> None:
    """Until the transaction ends, the survey cannot be deleted (its delete locks the row FOR UPDATE
    and would then see this trigger's invitation). Django's foreign keys are checked at commit
    only: without it a delete meanwhile went through and the trigger failed at commit (a 500).
    FOR KEY SHARE: triggers of one survey do not wait for each other, nor for its edits."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM surveys_survey WHERE id = %s FOR KEY SHARE", [survey.pk])
        if cursor.fetchone() is None:
            raise Survey.DoesNotExist("The survey was deleted.")


def _lock_customers(one: int | None = None) -> None:
    """Until the transaction ends: every customer (a launch) or `one` customer (a trigger).

    Statements after this one see what the transaction that held the lock committed (READ
    COMMITTED takes a new snapshot per statement), so the pending check counts its rows.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if one is None:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [INVITING])
        else:
            # Ids past 2**31 share a key with another customer: at worst, a needless wait.
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, 0), "
                "pg_advisory_xact_lock(%s, (%s::bigint %% 2147483647)::int)",
                [INVITING, INVITING_ONE, one],
            )


def _same_event(survey: Survey, customer: Customer, reference: str) -> Invitation | None:
    if not reference:
        return None  # no reference, no way to tell a repeat from a new event
    return Invitation.objects.filter(survey=survey, customer=customer, reference=reference).first()


def schedule_time_of_day(next_launch_at: datetime, launch_time_of_day: time | None) -> time:
    """The local time of day a recurring survey launches at: the one its schedule kept, while it
    still explains next_launch_at (a launch due at 02:30 on the night the clocks skip 02:00-03:00
    is stored as 03:30), else next_launch_at's own (set since by hand: the form, the admin, the API)."""
    local = timezone.localtime(next_launch_at)
    if launch_time_of_day is not None:
        meant = timezone.make_aware(datetime.combine(local.date(), launch_time_of_day))
        # In UTC: Python finds a time in a gap or a repeated hour equal to none of another zone.
        if meant.astimezone(UTC) == next_launch_at.astimezone(UTC):
            return launch_time_of_day
    return local.time()


def _next_after(survey: Survey, now) -> tuple[datetime, time]:
    """The launch after the one due now, and the time of day it keeps: stepped from that time, not
    from next_launch_at, so only a launch in a spring-forward gap is an hour late."""
    at = schedule_time_of_day(survey.next_launch_at, survey.launch_time_of_day)
    following = days_later(survey.next_launch_at, survey.repeat_days, at=at)
    while following <= now:  # a schedule missed for a while launches once, not once per missed period
        following = days_later(following, survey.repeat_days, at=at)
    return following, at


def surveys_launch_due() -> list[int]:
    """Launch every recurring relationship survey whose next launch is due; returns their launch ids.

    Each survey is claimed by moving next_launch_at with a conditional UPDATE: a second run at the
    same time finds it moved and launches nothing.
    """
    now = timezone.now()
    due = Survey.objects.filter(
        kind=SurveyKind.RELATIONSHIP, imported=False, repeat_days__isnull=False, next_launch_at__lte=now
    ).exclude(status=SurveyStatus.CLOSED).exclude(audience=AudienceKind.LIST)
    launched = []
    for survey in due:
        try:
            with transaction.atomic():
                following, at = _next_after(survey, now)
                claimed = Survey.objects.filter(pk=survey.pk, next_launch_at=survey.next_launch_at).update(
                    next_launch_at=following, launch_time_of_day=at
                )
                if not claimed:
                    continue  # another process got there first
                launched.append(survey_launch(survey=survey).pk)
        except Exception:
            # Rolled back, so tried again at the next run; the other due surveys still launch now.
            logger.exception("Survey %s (%r) was due but could not be launched", survey.pk, survey.name)
    return launched
