"""Report snapshots (SPEC §6): services that request and compute them, selectors that read them.

A request upserts the one row of its parameter set, marks it pending and enqueues the compute task
after commit. The task claims the row with a conditional UPDATE (pending or failed → running), so a
duplicated or redelivered message computes nothing twice at once, then stores the figures only if
its claim is still the current one: a request that arrives mid-computation sets the row back to
pending and its own task recomputes, since the inputs may have changed under the first one.

A claim older than the compute task's hard time limit belongs to a worker that is gone (the limit
kills a task before then), so it may be taken over. A worker killed mid-computation leaves its row
running, and the message Celery redelivers at once finds that claim still recent and skips: the
sweeper (`snapshots_resume_abandoned`, every 5 minutes) hands such rows, and pending ones whose
message was lost, back to the queue once the claim is older than the limit. A row interrupted
`MAX_INTERRUPTIONS` times in a row (a computation that kills its worker) is marked failed instead,
until the next request, so it cannot take down a worker every few minutes.
"""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Case, F, PositiveSmallIntegerField, Q, When
from django.utils import timezone

from cxplatform.reconnect import written_after_reconnecting

from .earned_growth import earned_growth
from .fingerprints import fingerprint_for, is_stale, reclassified
from .models import ReportSnapshot, SnapshotCompare, SnapshotGrain, SnapshotKind, SnapshotStatus
from .nps import nps_report
from .periods import last_periods, parse_period

logger = logging.getLogger(__name__)

RECOMPUTE_PERMISSION = "reports.recompute_reportsnapshot"
ERROR_CHARS = 4000

# The compute task's own time limits (tasks.py): reports take seconds (README, Benchmarks), so a
# claim older than the hard limit plus a margin is surely a dead worker's (the limit kills a
# computation before then), and a killed one is resumed in minutes, not at the nightly run.
COMPUTE_SOFT_TIME_LIMIT = 9 * 60
COMPUTE_TIME_LIMIT = 10 * 60
ABANDONED_MARGIN = timedelta(minutes=2)  # the pool's timer, clocks of different hosts
MAX_INTERRUPTIONS = 3
INTERRUPTED_ERROR = (
    "The computation was interrupted {count} times (its worker was lost); recompute to try again."
)


def _abandoned_after() -> timedelta:
    # The task's own time_limit wins over settings.CELERY_TASK_TIME_LIMIT (30 minutes) in Celery.
    return timedelta(seconds=COMPUTE_TIME_LIMIT) + ABANDONED_MARGIN


# --- services ------------------------------------------------------------------------------------


def snapshot_request(
    *,
    kind: str = SnapshotKind.EARNED_GROWTH,
    period: str,
    compare: str = SnapshotCompare.PRIOR,
    grain: str = SnapshotGrain.ENTITY,
    segment: str = "",
    user=None,
) -> ReportSnapshot:
    """Ask for the snapshot of these parameters to be (re)computed; returns its row, pending.

    `user` is who asked (None: the schedule); a user needs reports.recompute_reportsnapshot.
    """
    if user is not None and not user.has_perm(RECOMPUTE_PERMISSION):
        raise PermissionDenied("You may not recompute reports.")
    params = _clean_parameters(kind=kind, period=period, compare=compare, grain=grain, segment=segment)
    with transaction.atomic():
        snapshot, _ = ReportSnapshot.objects.get_or_create(**params)
        ReportSnapshot.objects.filter(pk=snapshot.pk).update(
            status=SnapshotStatus.PENDING, error="", requested_by=user, interruptions=0, updated_at=timezone.now()
        )
        snapshot.refresh_from_db()
        _enqueue_on_commit(snapshot.pk)
    return snapshot


def snapshots_recompute(snapshots, *, user) -> int:
    """Ask for these existing snapshots (a queryset) to be recomputed, as snapshot_request asks for
    one; returns how many. A few queries whatever their number (the admin's bulk action)."""
    if user is not None and not user.has_perm(RECOMPUTE_PERMISSION):
        raise PermissionDenied("You may not recompute reports.")
    with transaction.atomic():
        # The ids first, for the tasks: once updated, rows the queryset selected by status (the
        # changelist's "select all" of failed ones) would no longer be selected.
        ids = list(snapshots.values_list("pk", flat=True))
        ReportSnapshot.objects.filter(pk__in=ids).update(
            status=SnapshotStatus.PENDING, error="", requested_by=user, interruptions=0, updated_at=timezone.now()
        )
        for snapshot_id in ids:
            _enqueue_on_commit(snapshot_id)
    return len(ids)


def _enqueue_on_commit(snapshot_id: int) -> None:
    from .tasks import compute_snapshot  # tasks call these services

    # robust: a broker that is down (or, in eager mode, a failing computation, which the row
    # records) must not turn the request into an error; the row stays pending and visible.
    transaction.on_commit(lambda: compute_snapshot.delay(snapshot_id), robust=True)


def _clean_parameters(*, kind, period, compare, grain, segment) -> dict:
    errors = {}
    if kind not in SnapshotKind.values:
        errors["kind"] = f"Unknown report kind {kind!r}."
    if compare not in SnapshotCompare.values:
        errors["compare"] = f"compare must be one of {', '.join(SnapshotCompare.values)}."
    if grain not in SnapshotGrain.values:
        errors["grain"] = f"grain must be one of {', '.join(SnapshotGrain.values)}."
    try:
        period = str(parse_period(period))  # one spelling per period: 2025-q3 is 2025-Q3
    except ValueError as exc:
        errors["period"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return {"kind": kind, "period": period, "compare": compare, "grain": grain, "segment": (segment or "").strip()}


def snapshot_compute(*, snapshot_id: int) -> ReportSnapshot | None:
    """Compute one snapshot if it still needs it; None when there was nothing to claim.

    On error the row is marked failed with the error, and the error is raised again (for retry).
    """
    claimed_at = _claim(snapshot_id)
    if claimed_at is None:
        logger.info("Snapshot %s not computed: nothing to do, or another worker got there first", snapshot_id)
        return None
    snapshot = ReportSnapshot.objects.get(pk=snapshot_id)
    try:
        # Fingerprint first: a write landing between the two makes the snapshot look stale (and be
        # recomputed), never look fresh with figures older than its fingerprint.
        fingerprint = fingerprint_for(snapshot.kind, snapshot.segment)
        figures = COMPUTERS[snapshot.kind](snapshot)
    except Exception as exc:
        _mark_failed(snapshot_id, claimed_at, exc)
        raise
    restatement = _restatement(snapshot, fingerprint)
    stored = _mine(snapshot_id, claimed_at).update(
        figures=figures,
        fingerprint=fingerprint,
        **({"restated_from": restatement} if restatement else {}),
        status=SnapshotStatus.DONE,
        error="",
        interruptions=0,
        computed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not stored:
        logger.info("Snapshot %s was requested again while computing: the newer request recomputes it", snapshot_id)
        return None
    snapshot.refresh_from_db()
    return snapshot


def _restatement(snapshot: ReportSnapshot, fingerprint: dict) -> dict | None:
    """The figures being replaced, when a category's class changed since they were computed.

    New answers, mappings or parents only make the snapshot stale: a recompute for them is no
    restatement, and leaves the last one (`restated_from`) as it was.
    """
    if snapshot.kind != SnapshotKind.EARNED_GROWTH:
        return None  # NPS does not depend on the classification
    if not snapshot.figures or not reclassified(snapshot.fingerprint, fingerprint):
        return None
    return {
        "figures": snapshot.figures,
        "fingerprint": snapshot.fingerprint,
        "computed_at": snapshot.computed_at.isoformat() if snapshot.computed_at else None,
        "restated_at": timezone.now().isoformat(),
    }


def _claim(snapshot_id: int):
    now = timezone.now()
    # An abandoned claim is taken over only while under the cap; past it, the sweeper fails it.
    claimable = Q(status__in=[SnapshotStatus.PENDING, SnapshotStatus.FAILED]) | Q(
        status=SnapshotStatus.RUNNING, started_at__lt=now - _abandoned_after(),
        interruptions__lt=MAX_INTERRUPTIONS - 1,
    )
    # Taking over an abandoned claim counts as an interruption, as the sweeper's release does.
    interrupted = Case(
        When(status=SnapshotStatus.RUNNING, then=F("interruptions") + 1),
        default=F("interruptions"),
        output_field=PositiveSmallIntegerField(),
    )
    claimed = ReportSnapshot.objects.filter(claimable, pk=snapshot_id).update(
        status=SnapshotStatus.RUNNING, started_at=now, interruptions=interrupted, updated_at=now
    )
    return now if claimed else None


def _mine(snapshot_id: int, claimed_at):
    return ReportSnapshot.objects.filter(pk=snapshot_id, status=SnapshotStatus.RUNNING, started_at=claimed_at)


def _mark_failed(snapshot_id: int, claimed_at, exc: BaseException) -> None:
    """Failed, with its error: the task's retry may claim it again. The error may have been the
    database going away (a restart): recorded over a new connection once it is back, or the row
    would stay running, not claimable, until the sweeper took it for a lost worker's."""
    error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]

    def record():
        _mine(snapshot_id, claimed_at).update(status=SnapshotStatus.FAILED, error=error, updated_at=timezone.now())

    try:
        written_after_reconnecting(record, what=f"snapshot {snapshot_id} failed")
    except DatabaseError:
        logger.exception("Snapshot %s: could not record its failure %r", snapshot_id, error)


def _earned_growth_figures(snapshot: ReportSnapshot) -> dict:
    report = earned_growth(
        period=parse_period(snapshot.period),
        compare=snapshot.compare,
        grain=snapshot.grain,
        segment=snapshot.segment or None,
    )
    # Rates exact: the dashboard rounds them once for display, as its live segment table and the
    # command do; rounded here first (6 places), 0.1234996 showed 12.4 % beside their 12.3 %.
    return report.as_json(exact_rates=True)


def _nps_figures(snapshot: ReportSnapshot) -> dict:
    """The relationship series, every answer counted; grain and compare do not apply to NPS."""
    report = nps_report(period=parse_period(snapshot.period), segment=snapshot.segment or None)
    return report.as_json()


# What computes each kind's figures.
COMPUTERS = {SnapshotKind.EARNED_GROWTH: _earned_growth_figures, SnapshotKind.NPS: _nps_figures}


def snapshots_request_periodic(*, kinds: list[str], periods: list[str], today=None) -> list[ReportSnapshot]:
    """Request the current and the last period of each period kind (year, quarter, month), at
    entity grain, against the prior period, for all customers; and every other existing snapshot of
    those periods and kinds, whatever its segment, grain and comparison (a page view made it once:
    customer grain, a yoy comparison, a segment, whose customers move). Idempotent: the rows are
    upserted."""
    today = today or timezone.localdate()
    recent = [str(period) for period_kind in periods for period in last_periods(period_kind, 2, today)]
    others = (
        ReportSnapshot.objects.filter(kind__in=kinds, period__in=recent)
        .exclude(segment="", grain=SnapshotGrain.ENTITY, compare=SnapshotCompare.PRIOR)  # requested above
        .order_by("kind", "period", "segment", "grain", "compare")
        .values("kind", "period", "compare", "grain", "segment")
    )
    return [
        *(snapshot_request(kind=kind, period=period) for kind in kinds for period in recent),
        *(snapshot_request(**params) for params in list(others)),
    ]


# --- selectors -----------------------------------------------------------------------------------


def snapshot_latest(
    *,
    kind: str = SnapshotKind.EARNED_GROWTH,
    period: str,
    compare: str = SnapshotCompare.PRIOR,
    grain: str = SnapshotGrain.ENTITY,
    segment: str = "",
) -> ReportSnapshot | None:
    """The snapshot of these parameters, or None. Its figures are the last computed ones (empty if
    never computed); `status` tells whether a recompute is pending, running or failed."""
    try:
        period = str(parse_period(period))
    except ValueError:
        return None
    return (
        ReportSnapshot.objects.select_related("requested_by")
        .filter(kind=kind, period=period, compare=compare, grain=grain, segment=segment or "")
        .first()
    )


def snapshot_is_stale(snapshot: ReportSnapshot, *, current: dict | None = None) -> bool:
    """Whether the snapshot's inputs changed since it was computed (or it never was)."""
    return is_stale(snapshot, current)


def snapshots_stuck():
    """Pending or running rows nobody is working on any more (lost message, dead worker)."""
    cutoff = timezone.now() - _abandoned_after()
    return ReportSnapshot.objects.filter(
        Q(status=SnapshotStatus.PENDING, updated_at__lt=cutoff)
        | Q(status=SnapshotStatus.RUNNING, started_at__lt=cutoff)
    )


def snapshots_resume_abandoned() -> list[int]:
    """Hand the stuck snapshots back: the ids to enqueue again (for the sweeper and the nightly run).

    Each row is taken with a conditional UPDATE that also moves its `updated_at`, so two sweeps
    never both take one, and a row is handed back at most once per abandonment window. A running
    row becomes pending (its dead claim released; a late store by that claim would find it gone);
    one abandoned `MAX_INTERRUPTIONS` times becomes failed. A few rows at most: one UPDATE each.
    """
    cutoff = timezone.now() - _abandoned_after()
    take = {SnapshotStatus.RUNNING: _release, SnapshotStatus.PENDING: _retouch}
    return [pk for pk, status in snapshots_stuck().values_list("pk", "status") if take[status](pk, cutoff)]


def _release(snapshot_id: int, cutoff) -> bool:
    """Release an abandoned claim: pending again, or failed once it was abandoned too often."""
    now = timezone.now()
    abandoned = ReportSnapshot.objects.filter(pk=snapshot_id, status=SnapshotStatus.RUNNING, started_at__lt=cutoff)
    given_up = abandoned.filter(interruptions__gte=MAX_INTERRUPTIONS - 1).update(
        status=SnapshotStatus.FAILED,
        interruptions=F("interruptions") + 1,
        error=INTERRUPTED_ERROR.format(count=MAX_INTERRUPTIONS),
        updated_at=now,
    )
    if given_up:
        logger.warning("Snapshot %s abandoned %s times by its worker: marked failed", snapshot_id, MAX_INTERRUPTIONS)
        return False
    released = abandoned.update(status=SnapshotStatus.PENDING, interruptions=F("interruptions") + 1, updated_at=now)
    if released:
        logger.warning("Snapshot %s: its worker was lost mid-computation; computing it again", snapshot_id)
    return bool(released)


def _retouch(snapshot_id: int, cutoff) -> bool:
    """Take a pending row whose message was lost (waited past the cutoff) to enqueue it again."""
    waiting = ReportSnapshot.objects.filter(pk=snapshot_id, status=SnapshotStatus.PENDING, updated_at__lt=cutoff)
    return bool(waiting.update(updated_at=timezone.now()))
