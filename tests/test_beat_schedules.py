"""Every schedule the migrations give beat names a task a worker knows: a typo would fail silently.

The daily schedules follow a changed TIME_ZONE at the next `migrate` (run.py serve runs one at each
start), and keep the zone an admin chose for one of them.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from cxplatform.celery import app
from cxplatform.models import ScheduleTimeZone

pytestmark = pytest.mark.django_db

LAUNCHES = "Recurring survey launches"


def test_every_beat_schedule_runs_a_registered_task():
    app.loader.import_default_modules()  # what a worker imports at start
    schedules = dict(PeriodicTask.objects.exclude(task="celery.backend_cleanup").values_list("name", "task"))

    assert {
        "Detractor alert sweeper", "Survey sending sweeper", "Nightly report snapshots",
        "Reason requests to new customers", "Report snapshot sweeper", "Stale import sweeper",
    } <= schedules.keys()
    assert {name: task for name, task in schedules.items() if task not in app.tasks} == {}


DAILY = {
    "Recurring survey launches": ("*", "*/15"),  # every 15 minutes since surveys 0019
    "Reason requests to new customers": ("9", "0"),
    "Nightly report snapshots": ("2", "30"),
}


def migrate():
    call_command("migrate", verbosity=0, stdout=StringIO())


def zone_of(name: str) -> str:
    return str(PeriodicTask.objects.select_related("crontab").get(name=name).crontab.timezone)


def put_on_zone(name: str, zone: str, *, hour: str = "6") -> None:
    """What an admin does: pick (or make) a crontab on another zone for the task."""
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone=zone
    )
    PeriodicTask.objects.filter(name=name).update(crontab=crontab)


def test_the_daily_schedules_follow_a_time_zone_set_after_the_first_migrate(settings):
    """Installed under UTC, then TIME_ZONE set to Paris: the next `migrate` moves the runs to
    09:00 and 02:30 Paris, not UTC (the launches, every 15 minutes, onto Paris too)."""
    settings.TIME_ZONE = settings.CELERY_TIMEZONE = "Europe/Paris"
    migrate()

    for name, (hour, minute) in DAILY.items():
        crontab = PeriodicTask.objects.select_related("crontab").get(name=name).crontab
        assert (crontab.hour, crontab.minute, str(crontab.timezone)) == (hour, minute, "Europe/Paris"), name
    assert ScheduleTimeZone.objects.get().time_zone == "Europe/Paris"


def test_an_admins_time_zone_for_a_daily_schedule_survives_the_next_migrate(settings):
    """TIME_ZONE stays UTC (the company's books); the admin wants the survey launches at 06:00 Paris
    (the customers' morning). TIME_ZONE did not change: the next restart keeps the admin's choice."""
    assert settings.TIME_ZONE == "UTC"
    put_on_zone(LAUNCHES, "Europe/Paris")

    migrate()

    assert zone_of(LAUNCHES) == "Europe/Paris", "migrate undid the admin's choice of time zone"


def test_a_changed_time_zone_moves_only_the_schedules_still_on_the_old_one(settings):
    put_on_zone(LAUNCHES, "Asia/Tokyo")
    settings.TIME_ZONE = settings.CELERY_TIMEZONE = "Europe/Paris"

    migrate()

    assert zone_of(LAUNCHES) == "Asia/Tokyo"
    assert zone_of("Nightly report snapshots") == zone_of("Reason requests to new customers") == "Europe/Paris"


def test_a_schedule_an_admin_moves_after_a_time_zone_change_stays_at_the_following_migrates(settings):
    settings.TIME_ZONE = settings.CELERY_TIMEZONE = "Europe/Paris"
    migrate()
    put_on_zone(LAUNCHES, "UTC")  # back on the books' zone, deliberately

    migrate()

    assert zone_of(LAUNCHES) == "UTC"


def test_without_a_record_only_the_schedules_on_utc_follow_time_zone(settings):
    """An installation upgraded from before the record: its schedules on UTC (TIME_ZONE's default)
    move to the zone set since; one an admin put on Tokyo stays; the zone is recorded."""
    ScheduleTimeZone.objects.all().delete()
    put_on_zone(LAUNCHES, "Asia/Tokyo")
    settings.TIME_ZONE = settings.CELERY_TIMEZONE = "Europe/Paris"

    migrate()

    assert zone_of(LAUNCHES) == "Asia/Tokyo"
    assert zone_of("Nightly report snapshots") == "Europe/Paris"
    assert ScheduleTimeZone.objects.get().time_zone == "Europe/Paris"


def test_migrate_survives_two_identical_crontabs_in_the_new_time_zone(settings):
    """django-celery-beat's crontabs are not unique: the admin can hold two identical ones. The hook
    takes the oldest instead of stopping `migrate` (so `run.py serve`) with MultipleObjectsReturned."""
    twins = [
        CrontabSchedule.objects.create(
            minute="*/15", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Europe/Paris"
        )
        for _ in range(2)
    ]
    settings.TIME_ZONE = settings.CELERY_TIMEZONE = "Europe/Paris"

    migrate()

    assert PeriodicTask.objects.get(name=LAUNCHES).crontab == twins[0]
