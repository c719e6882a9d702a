"""Background work of the surveys app. Tasks are thin: the logic is in sending.py and launch.py.

All of them are safe to run twice at once (rows are claimed by conditional UPDATEs), so acks_late
is on where a redelivery after a lost worker should redo the work.
"""

import logging

from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnreachable

from . import launch, sending

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_invitations(shard: int = 0, shards: int = 1) -> int:
    """One batch of the shard's due invitations; enqueues its next batch, or a retry after a transient
    error. Shards let several worker processes send at once, each over its own SMTP connection."""
    result = sending.send_batch(shard=shard, shards=shards)
    try:
        if result.retry_in is not None:
            send_invitations.apply_async((shard, shards), countdown=result.retry_in)
            sending.mark_retry(sending.RETRY_KEY.format(shard), result.retry_in)  # the sweeper leaves it be
        elif result.done and sending.more_due(shard=shard, shards=shards):
            send_invitations.delay(shard, shards)
    except BrokerUnreachable as exc:
        # The batch is recorded; the rest stay queued, and no mark keeps the sweeper away for long.
        logger.error("Survey sending paused after a batch: broker unreachable (%s); the sweeper restarts it", exc)
    return result.sent


# Redis redelivers a message not acknowledged within the broker's visibility_timeout (2 hours,
# settings), and a worker holds an ETA message unacknowledged until it is due: a longer countdown
# is delivered again every visibility_timeout (Celery's documented caveat). Well under it.
LONGEST_COUNTDOWN = 30 * 60


def enqueue_senders(countdown: float = 0) -> bool:
    """One sending task per shard (SURVEY_SEND_PARALLEL of them). Beyond LONGEST_COUNTDOWN, nothing:
    the sweeper (every 5 minutes) starts the senders once the rows are due.

    False when the broker refused them (down, hung): logged in one line, and the rows stay queued
    for the sweeper, which starts the senders once the broker is back."""
    if countdown > LONGEST_COUNTDOWN:
        return True
    shards = max(1, settings.SURVEY_SEND_PARALLEL)
    try:
        for shard in range(shards):
            send_invitations.apply_async((shard, shards), countdown=countdown or None)
    except BrokerUnreachable as exc:  # kombu's, for a refused connection and a timeout alike
        logger.error("Survey sending not queued: broker unreachable (%s); the sweeper starts it once it is back", exc)
        return False
    return True


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_reminders(retry: int = 0, chained: bool = False) -> int:
    """The hourly run (no arguments), and the chain it starts: the next batch, or after a transient
    error a retry with backoff (1, 2, 4, 8 minutes), then none: the next hourly run tries again. The
    hourly run starts no second chain while one waits out its backoff."""
    if not chained and sending.reminder_retry_pending():
        logger.info("A reminder retry is pending: this run leaves the reminders to it")
        return 0
    result = sending.send_reminders()
    try:
        if result.retry_in is not None:
            if retry + 1 < sending.MAX_ATTEMPTS:
                countdown = sending.backoff(retry + 1)
                send_reminders.apply_async((retry + 1, True), countdown=countdown)
                sending.mark_retry(sending.REMINDER_RETRY_KEY, countdown)
            else:
                logger.warning("Reminders not sent after %s tries: the next hourly run tries again", retry + 1)
        elif result.done and sending.reminders_due().exists():
            send_reminders.delay(0, True)
    except BrokerUnreachable as exc:
        logger.error("Reminders paused after a batch: broker unreachable (%s); the next hourly run goes on", exc)
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
        restarted = enqueue_senders()
    return {"interrupted": interrupted, "restarted": restarted}


# Not acks_late: a redelivered launch is harmless (surveys are claimed) but the next run, a quarter
# of an hour later, is enough.
@shared_task(ignore_result=True)
def launch_due_surveys() -> list[int]:
    return launch.surveys_launch_due()
