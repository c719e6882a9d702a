"""Background work of the reports app: computing report snapshots, the nightly schedule, the sweeper.

The schedules are django-celery-beat PeriodicTasks ("Nightly report snapshots", "Report snapshot
sweeper", created by data migrations) so admins can change their times or kwargs in the admin; run
exactly one beat.
"""

import logging

from celery import shared_task
from django.db import OperationalError

from .models import SnapshotKind
from .periods import MONTH, QUARTER, YEAR
from .snapshots import (
    COMPUTE_SOFT_TIME_LIMIT,
    COMPUTE_TIME_LIMIT,
    snapshot_compute,
    snapshots_request_periodic,
    snapshots_resume_abandoned,
)

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
DEFAULT_KINDS = [SnapshotKind.EARNED_GROWTH.value, SnapshotKind.NPS.value]
DEFAULT_PERIODS = [YEAR, QUARTER, MONTH]


# acks_late is safe: a computation is idempotent (recomputed in place, claimed by a conditional
# UPDATE). Only OperationalError is retried: a lost connection, a deadlock or a timeout may pass;
# a bad parameter or a bug will not. After the last retry the row stays failed, with the error.
# Its own time limits: the soft one marks the row failed; the hard one bounds how long a claim can
# be live, after which the sweeper may hand the row to another worker (snapshots.py).
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    max_retries=MAX_RETRIES,
    retry_backoff=10,  # 10, 20, 40 seconds, jittered
    retry_backoff_max=300,
    retry_jitter=True,
    soft_time_limit=COMPUTE_SOFT_TIME_LIMIT,
    time_limit=COMPUTE_TIME_LIMIT,
)
def compute_snapshot(self, snapshot_id: int) -> str:
    snapshot = snapshot_compute(snapshot_id=snapshot_id)
    return "computed" if snapshot is not None else "skipped"


@shared_task(ignore_result=True)
def compute_periodic_snapshots(kinds: list[str] | None = None, periods: list[str] | None = None) -> int:
    """Request the current and last year, quarter and month of each report kind; safe to run twice.

    Also re-enqueues snapshots left pending or running by a lost message or a dead worker.
    """
    requested = snapshots_request_periodic(kinds=kinds or DEFAULT_KINDS, periods=periods or DEFAULT_PERIODS)
    stuck = _enqueue(snapshots_resume_abandoned())
    logger.info("Requested %s report snapshots, re-enqueued %s stuck ones", len(requested), stuck)
    return len(requested)


@shared_task(ignore_result=True)
def sweep_snapshots() -> int:
    """Every 5 minutes: compute again the snapshots a lost worker or a lost message left behind."""
    resumed = _enqueue(snapshots_resume_abandoned())
    if resumed:
        logger.info("Re-enqueued %s stuck report snapshots", resumed)
    return resumed


def _enqueue(snapshot_ids: list[int]) -> int:
    for snapshot_id in snapshot_ids:
        compute_snapshot.delay(snapshot_id)
    return len(snapshot_ids)
