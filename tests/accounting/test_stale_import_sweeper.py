"""An import whose process died (a web worker killed past gunicorn's timeout, a stopped command) left
its batch "running" for ever: the row is committed before the import's transaction. The hourly
sweeper marks it failed once IMPORT_STALE_HOURS have passed, and never touches a live or finished one."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounting.models import Customer, ImportBatch, ImportStatus
from accounting.services import IMPORT_INTERRUPTED, import_batches_fail_stale
from accounting.tasks import fail_stale_imports
from cxplatform.celery import app

pytestmark = pytest.mark.django_db

NAME = "Stale import sweeper"
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
migration = importlib.import_module("accounting.migrations.0013_stale_import_sweeper_schedule")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def batch(*, started_hours_ago: float, status=ImportStatus.RUNNING, **fields) -> ImportBatch:
    return ImportBatch.objects.create(
        kind="customers", source="ui", status=status,
        started_at=timezone.now() - dt.timedelta(hours=started_hours_ago), **fields,
    )


def reread(row: ImportBatch) -> ImportBatch:
    row.refresh_from_db()
    return row


def test_a_batch_running_past_the_limit_is_marked_failed_as_interrupted(clock):
    dead = batch(started_hours_ago=6.5)

    assert import_batches_fail_stale() == 1

    dead = reread(dead)
    assert dead.status == ImportStatus.FAILED
    assert dead.message == IMPORT_INTERRUPTED
    assert dead.finished_at is None  # when the process stopped is unknown
    assert not Customer.objects.exists()


def test_live_and_finished_batches_are_left_alone(clock):
    live = batch(started_hours_ago=5.9)  # under the limit: its process may still be at work
    done = batch(started_hours_ago=48, status=ImportStatus.SUCCEEDED, message="3 row(s): 3 added")
    rejected = batch(started_hours_ago=48, status=ImportStatus.REJECTED, message="2 errors")

    assert import_batches_fail_stale() == 0

    assert reread(live).status == ImportStatus.RUNNING
    assert (reread(done).status, done.message) == (ImportStatus.SUCCEEDED, "3 row(s): 3 added")
    assert (reread(rejected).status, rejected.message) == (ImportStatus.REJECTED, "2 errors")


def test_the_limit_is_a_setting(clock, settings):
    settings.IMPORT_STALE_HOURS = 1
    dead = batch(started_hours_ago=1.5)

    assert import_batches_fail_stale() == 1
    assert reread(dead).status == ImportStatus.FAILED


def test_the_task_is_idempotent(clock):
    dead = batch(started_hours_ago=7)

    assert fail_stale_imports.delay().get() == 1
    assert fail_stale_imports.delay().get() == 0
    assert reread(dead).status == ImportStatus.FAILED


def test_the_imports_page_no_longer_shows_a_dead_import_running(clock, client_as):
    dead = batch(started_hours_ago=7)
    fail_stale_imports.delay()

    page = client_as("analyst").get(reverse("accounting:import-detail", args=[dead.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Interrupted: the process running this import stopped" in html
    assert 'class="badge running"' not in html


def test_the_migrations_schedule_it_hourly():
    app.loader.import_default_modules()  # what a worker imports at start
    schedule = PeriodicTask.objects.select_related("interval").get(name=NAME)

    assert schedule.task == "accounting.tasks.fail_stale_imports" and schedule.task in app.tasks
    assert schedule.enabled and schedule.crontab is None
    assert (schedule.interval.every, schedule.interval.period) == (1, "hours")


def test_the_migration_reverses_and_reapplies_without_duplicates():
    migration.remove_schedule(apps, None)
    assert not PeriodicTask.objects.filter(name=NAME).exists()

    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    assert PeriodicTask.objects.filter(name=NAME).count() == 1
