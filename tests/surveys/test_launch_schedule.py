"""The recurring launches as the installed beat schedule runs them (migration surveys/0019).

A survey's next launch keeps the time of day of its first launch, and its page announces it: the
launch task must run often enough to relaunch it on that day, near that time, not at the next
06:00. The migration moves only the schedule it installed; an admin's own is kept.
"""

import datetime as dt
import importlib
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from surveys.launch import survey_launch, surveys_launch_due
from surveys.models import Launch, LaunchChannel, SurveyKind
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db

LAUNCHES = "Recurring survey launches"
migration = importlib.import_module("surveys.migrations.0019_recurring_launches_every_15_minutes")


def first_beat_run_at_or_after(moment: dt.datetime) -> dt.datetime:
    """When the stored beat schedule first runs the launch task at or after `moment`."""
    task = PeriodicTask.objects.select_related("crontab").get(name=LAUNCHES)
    zone, schedule = ZoneInfo(str(task.crontab.timezone)), task.schedule  # celery's: sets of hours, minutes
    local_day = moment.astimezone(zone).date()
    runs = [
        dt.datetime.combine(local_day + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=zone)
        for days in range(3)
        for hour in sorted(schedule.hour)
        for minute in sorted(schedule.minute)
    ]
    return min(run for run in runs if run >= moment)


def crontab_of(name: str) -> tuple:
    crontab = PeriodicTask.objects.select_related("crontab").get(name=name).crontab
    return crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month, crontab.month_of_year, str(
        crontab.timezone
    )


def put_on_crontab(name: str, *, minute: str, hour: str, zone: str) -> None:
    """What an admin does: pick (or make) another crontab for the task."""
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone=zone
    )
    PeriodicTask.objects.filter(name=name).update(crontab=crontab)


@pytest.mark.parametrize("at", [dt.time(14, 0), dt.time(14, 7)])
def test_a_weekly_survey_first_launched_by_hand_is_relaunched_when_its_page_announces(at):
    """Launched by hand on Monday 3 March at 14:00: the page says "next 2025-03-10 14:00". The
    daily 06:00 run relaunched it on Tuesday 11 March at 06:00, 16 hours late on another day."""
    CustomerFactory()
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP, repeat_days=7, throttle_days=0)
    with time_machine.travel(dt.datetime.combine(dt.date(2025, 3, 3), at, tzinfo=dt.UTC), tick=False):
        survey_launch(survey=survey, via=LaunchChannel.PAGE)
    survey.refresh_from_db()
    announced = survey.next_launch_at
    assert announced == dt.datetime.combine(dt.date(2025, 3, 10), at, tzinfo=dt.UTC)

    run = first_beat_run_at_or_after(announced)
    with time_machine.travel(run + dt.timedelta(seconds=5), tick=False):
        launched = surveys_launch_due()

    assert len(launched) == 1
    late = Launch.objects.get(pk=launched[0]).launched_at - announced
    assert dt.timedelta(0) <= late <= dt.timedelta(minutes=15), f"relaunched {late} after the announced time"


def test_the_migration_runs_the_launches_every_quarter_hour_on_the_projects_zone(settings):
    assert crontab_of(LAUNCHES) == ("*/15", "*", "*", "*", "*", settings.TIME_ZONE)


def test_reversing_the_migration_puts_the_launches_back_at_six(settings):
    migration.daily_at_6(apps, None)
    assert crontab_of(LAUNCHES) == ("0", "6", "*", "*", "*", settings.TIME_ZONE)

    migration.every_15_minutes(apps, None)
    assert crontab_of(LAUNCHES) == ("*/15", "*", "*", "*", "*", settings.TIME_ZONE)


@pytest.mark.parametrize(
    "minute, hour, zone",
    [("30", "7", "UTC"), ("0", "6", "Europe/Paris")],  # another time; 06:00 on the customers' zone
    ids=["another-time", "another-zone"],
)
def test_the_migration_keeps_an_admins_own_launch_schedule(settings, minute, hour, zone):
    assert settings.TIME_ZONE == "UTC"
    put_on_crontab(LAUNCHES, minute=minute, hour=hour, zone=zone)

    migration.every_15_minutes(apps, None)

    assert crontab_of(LAUNCHES) == (minute, hour, "*", "*", "*", zone)


def test_a_launch_run_with_nothing_due_is_one_query(django_assert_num_queries):
    """Every 15 minutes: nothing due costs one query on the surveys table."""
    SurveyFactory(repeat_days=7, next_launch_at=timezone.now() + dt.timedelta(days=3))
    with django_assert_num_queries(1):
        assert surveys_launch_due() == []
