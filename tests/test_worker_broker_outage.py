"""A Celery worker outlives its broker's outages, however long, and a Redis restart in mid-task.

Measured against a real worker and redis-server (stopped, restarted without persistence): these
settings are what kept the worker running; without them it exited, and `run.py serve` (honcho)
stopped web and beat with it."""

from types import SimpleNamespace

from celery.worker.consumer.control import Control

from cxplatform.celery import app


def test_a_worker_waits_for_its_broker_however_long_it_is_down():
    """Celery's default, 100 tries, ended the worker ("Unrecoverable error: OperationalError ...
    Connection refused") after about 47 minutes of a Redis outage."""
    assert app.conf.broker_connection_max_retries is None  # Celery's "retry forever"


def test_a_worker_subscribes_to_no_broadcast_channel():
    """Remote control listens on a Redis subscription; a worker that noticed a Redis restart there
    while it ran a task (an acks_late one, such as a sending batch) exited with "Unrecoverable error:
    AttributeError: 'NoneType' object has no attribute 'hostname'" in a third of the restarts tried."""
    consumer = SimpleNamespace(app=app, conninfo=app.connection_for_read("redis://127.0.0.1:6379/0"))

    assert not Control.include_if(None, consumer)
