"""Background work of the surveys app. Tasks are thin: the logic is in sending.py and launch.py.

All of them are safe to run twice at once (rows are claimed by conditional UPDATEs), so acks_late
is on where a redelivery after a lost worker should redo the work.
"""

import logging

from celery import shared_task
from django.conf import settings

from . import launch, sending

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_invitations(shard: int = 0, shards: int = 1) -> int:
    """One batch of the shard's due invitations; enqueues its next batch, or a retry after a transient
    error. Shards let several worker processes send at once, each over its own SMTP connection."""
    result = sending.send_batch(shard=shard, shards=shards)
    if result.retry_in is not None:
        send_invitations.apply_async((shard, shards), countdown=result.retry_in)
    elif result.done and sending.more_due(shard=shard, shards=shards):
        send_invitations.delay(shard, shards)
    return result.sent


def enqueue_senders(countdown: float = 0) -> None:
    """One sending task per shard (SURVEY_SEND_PARALLEL of them)."""
    shards = max(1, settings.SURVEY_SEND_PARALLEL)
    for shard in range(shards):
        send_invitations.apply_async((shard, shards), countdown=countdown or None)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_reminders() -> int:
    result = sending.send_reminders()
    if result.retry_in is not None:
        send_reminders.apply_async(countdown=result.retry_in)
    elif result.done and sending.reminders_due().exists():
        send_reminders.delay()
    return result.sent


@shared_task(acks_late=True, ignore_result=True)
def expire_invitations() -> int:
    return sending.expire_invitations()


@shared_task(acks_late=True, ignore_result=True)
def sweep_invitations() -> dict:
    """Every few minutes: fail rows a dead worker left mid-send, restart sending if nobody is."""
    interrupted = sending.fail_interrupted()
    restarted = sending.needs_sender()
    if restarted:
        logger.info("Due survey invitations and no sender alive: enqueueing the senders")
        enqueue_senders()
    return {"interrupted": interrupted, "restarted": restarted}


# Not acks_late: a redelivered launch is harmless (surveys are claimed) but a daily run is enough.
@shared_task(ignore_result=True)
def launch_due_surveys() -> list[int]:
    return launch.surveys_launch_due()
