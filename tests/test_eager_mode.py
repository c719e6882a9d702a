"""The embedded default (no CELERY_BROKER_URL: tasks run eagerly) logs no warning about a broker it
does not use: kombu warned "No hostname was supplied. Reverting to default 'localhost'" on the
first task of each process, the demo's only warning in the server log."""

import logging

import kombu.pools

from cxplatform.celery import app
from reports.tasks import compute_snapshot


def test_queuing_a_task_in_eager_mode_logs_no_broker_warning(caplog, db):
    kombu.pools.reset()  # a fresh producer, as the first task of a process gets
    app._pool = None
    app.amqp._producer_pool = None
    with caplog.at_level(logging.WARNING):
        compute_snapshot.delay(0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("kombu")]
    assert not warnings, warnings
