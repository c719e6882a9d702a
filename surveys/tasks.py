"""Background work of the surveys app. Tasks are thin: the logic is in sending.py and launch.py.

All of them are safe to run twice at once (rows are claimed by conditional UPDATEs), so acks_late
is on where a redelivery after a lost worker should redo the work.
"""

import logging

from celery import shared_task

from . import launch, sending

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_invitations() -> int:
    """One batch of due invitations; enqueues the next batch, or a retry after a transient error."""
    result = sending.send_batch()
    if result.retry_in is not None:
        send_invitations.apply_async(countdown=result.retry_in)
    elif result.done and sending.more_due():
        send_invitations.delay()
    return result.sent


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
        logger.info("Due survey invitations and no sender alive: enqueueing a batch")
        send_invitations.delay()
    return {"interrupted": interrupted, "restarted": restarted}


# Not acks_late: a redelivered launch is harmless (surveys are claimed) but a daily run is enough.
@shared_task(ignore_result=True)
def launch_due_surveys() -> list[int]:
    return launch.surveys_launch_due()
