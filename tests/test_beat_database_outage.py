"""Beat outlives a database outage (simulated: the driver's error raised where a PostgreSQL
restart raised it, in beat's periodic read of the schedule)."""

import datetime

import pytest
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.db import OperationalError
from django_celery_beat import schedulers

from cxplatform.celery import app

pytestmark = pytest.mark.django_db

STARTING_UP = "connection failed: FATAL:  the database system is starting up"


def test_beat_keeps_its_schedule_while_the_database_is_down_and_reads_it_again_once_it_is_back(monkeypatch, caplog):
    """Beat exited ("beat raised exception ... OperationalError") when its read of the schedule,
    every 5 minutes, met the database restarting: no sweeper, reminder or relaunch after that."""
    # Beat closes connections left in a transaction before each read; this test's must stay open.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    scheduler = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)(app=app)
    before = scheduler.schedule
    assert "Survey sending sweeper" in before
    scheduler._last_full_sync -= datetime.timedelta(seconds=schedulers.SCHEDULE_SYNC_MAX_INTERVAL)  # a full read is due
    read = scheduler.all_as_schedule

    def restarting():
        raise OperationalError(STARTING_UP)

    monkeypatch.setattr(scheduler, "all_as_schedule", restarting)
    assert scheduler.schedule is before  # kept, not raised out of beat's loop
    assert "Beat keeps its schedule: database unreachable" in caplog.text

    reads = []
    monkeypatch.setattr(scheduler, "all_as_schedule", lambda: reads.append(1) or read())
    assert "Survey sending sweeper" in scheduler.schedule
    assert reads == [1]  # at the next tick, not 5 minutes later
