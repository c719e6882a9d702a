"""Background work of the reports app: computing report snapshots, and the nightly schedule.

The schedule is a django-celery-beat PeriodicTask ("Nightly report snapshots", created by a data
migration) so admins can change its time or its kwargs in the admin; run exactly one beat.
"""

import logging

from celery import shared_task
from django.db import OperationalError

from .models import SnapshotKind
from .periods import MONTH, QUARTER, YEAR
from .snapshots import snapshot_compute, snapshots_request_periodic, snapshots_stuck

logger = logging.getLogger(__name__)

MAX_RETRIES = 3
DEFAULT_KINDS = [SnapshotKind.EARNED_GROWTH.value, SnapshotKind.NPS.value]
DEFAULT_PERIODS = [YEAR, QUARTER, MONTH]


# acks_late is safe: a computation is idempotent (recomputed in place, claimed by a conditional
# UPDATE). Only OperationalError is retried: a lost connection, a deadlock or a timeout may pass;
# a bad parameter or a bug will not. After the last retry the row stays failed, with the error.
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
    stuck = list(snapshots_stuck().exclude(pk__in=[s.pk for s in requested]).values_list("pk", flat=True))
    for snapshot_id in stuck:
        compute_snapshot.delay(snapshot_id)
    logger.info("Requested %s report snapshots, re-enqueued %s stuck ones", len(requested), len(stuck))
    return len(requested)
