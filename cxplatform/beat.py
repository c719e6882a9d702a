"""Beat's scheduler: django-celery-beat's, outliving a database outage.

Beat reads the schedule from the database again every 5 minutes, and when an admin changes it. That
read was not guarded: the database down at that moment (a PostgreSQL restart at the wrong second,
any outage longer than 5 minutes) raised out of beat's loop, and beat exited ("beat raised
exception ... OperationalError"), taking every sweeper, reminder and relaunch with it. The schedule
last read is kept instead, and read again at the next tick (every few seconds) until the database
answers. Due tasks are still sent meanwhile; their last run is saved once it is back.
"""

import datetime
import logging

from django.db import Error as DatabaseFailure
from django_celery_beat import schedulers

from .reconnect import first_line

logger = logging.getLogger(__name__)


class DatabaseScheduler(schedulers.DatabaseScheduler):
    @property
    def schedule(self):
        try:
            return super().schedule
        except DatabaseFailure as exc:
            if self._schedule is None:
                raise  # nothing read yet (beat starting with the database down): nothing to keep
            logger.error("Beat keeps its schedule: database unreachable (%s); read again at the next tick",
                         first_line(exc))
            # Due again at once: the full read is retried at the next tick, not in 5 minutes.
            interval = datetime.timedelta(seconds=schedulers.SCHEDULE_SYNC_MAX_INTERVAL)
            self._last_full_sync = datetime.datetime.now() - interval
            return self._schedule
