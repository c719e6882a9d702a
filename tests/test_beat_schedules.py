"""Every schedule the migrations give beat names a task a worker knows: a typo would fail silently."""

import pytest
from django_celery_beat.models import PeriodicTask

from cxplatform.celery import app

pytestmark = pytest.mark.django_db


def test_every_beat_schedule_runs_a_registered_task():
    app.loader.import_default_modules()  # what a worker imports at start
    schedules = dict(PeriodicTask.objects.exclude(task="celery.backend_cleanup").values_list("name", "task"))

    assert {
        "Detractor alert sweeper", "Survey sending sweeper", "Nightly report snapshots",
        "Reason requests to new customers", "Report snapshot sweeper", "Stale import sweeper",
    } <= schedules.keys()
    assert {name: task for name, task in schedules.items() if task not in app.tasks} == {}


DAILY = {
    "Recurring survey launches": ("6", "0"),
    "Reason requests to new customers": ("9", "0"),
    "Nightly report snapshots": ("2", "30"),
}


def test_the_daily_schedules_follow_a_time_zone_set_after_the_first_migrate(settings):
    """Installed under UTC, then TIME_ZONE set to Paris: the next `migrate` (run.py serve runs one
    at each start) moves the daily runs to 06:00, 09:00 and 02:30 Paris, not UTC."""
    from io import StringIO

    from django.core.management import call_command

    settings.TIME_ZONE = settings.CELERY_TIMEZONE = "Europe/Paris"
    call_command("migrate", verbosity=0, stdout=StringIO())

    for name, (hour, minute) in DAILY.items():
        crontab = PeriodicTask.objects.select_related("crontab").get(name=name).crontab
        assert (crontab.hour, crontab.minute, str(crontab.timezone)) == (hour, minute, "Europe/Paris"), name
