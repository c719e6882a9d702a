"""The daily beat schedule that asks new customers their acquisition reason, once each (SPEC §2)."""

import datetime as dt
import importlib
import json

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django_celery_beat.models import PeriodicTask

from accounting.models import ReasonRequest
from cxplatform.celery import app
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NAME = "Reason requests to new customers"
NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
migration = importlib.import_module("accounting.migrations.0008_reason_request_schedule")


def run_as_beat_would(schedule: PeriodicTask):
    """Send the schedule's task with its arguments (the tests run Celery eagerly)."""
    return app.tasks[schedule.task].apply_async(args=json.loads(schedule.args), kwargs=json.loads(schedule.kwargs))


def test_the_migrations_schedule_it_daily_at_nine_in_the_project_time_zone(settings):
    app.loader.import_default_modules()  # what a worker imports at start
    schedule = PeriodicTask.objects.select_related("crontab").get(name=NAME)

    assert schedule.task == "accounting.tasks.send_reason_requests_to_new_customers"
    assert schedule.task in app.tasks
    assert schedule.enabled and schedule.interval is None
    crontab = schedule.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == (
        "0", "9", "*", "*", "*",
    )
    assert str(crontab.timezone) == settings.TIME_ZONE
    assert json.loads(schedule.kwargs) == {"days": 30}


@time_machine.travel(NOW, tick=False)
def test_the_scheduled_task_run_twice_asks_each_new_customer_once(django_capture_on_commit_callbacks):
    schedule = PeriodicTask.objects.get(name=NAME)
    first_customer = CustomerFactory(acquired_on=NOW.date() - dt.timedelta(days=2))
    second_customer = CustomerFactory(acquired_on=NOW.date())
    CustomerFactory(acquired_on=NOW.date() - dt.timedelta(days=31))  # not new: never asked

    with django_capture_on_commit_callbacks(execute=True):
        first = run_as_beat_would(schedule)
    with django_capture_on_commit_callbacks(execute=True):
        second = run_as_beat_would(schedule)

    assert (first.get(), second.get()) == (2, 0)
    assert sorted(message.to[0] for message in mail.outbox) == sorted([first_customer.email, second_customer.email])
    assert ReasonRequest.objects.filter(customer=first_customer).count() == 1
    assert ReasonRequest.objects.filter(customer=second_customer).count() == 1


def test_the_migration_reverses_and_reapplies_without_duplicates():
    migration.remove_schedule(apps, None)
    assert not PeriodicTask.objects.filter(name=NAME).exists()

    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    assert PeriodicTask.objects.filter(name=NAME).count() == 1


def test_reapplying_keeps_an_admins_edits():
    PeriodicTask.objects.filter(name=NAME).update(enabled=False, kwargs=json.dumps({"days": 14}))

    migration.create_schedule(apps, None)

    schedule = PeriodicTask.objects.get(name=NAME)
    assert (schedule.enabled, json.loads(schedule.kwargs)) == (False, {"days": 14})
