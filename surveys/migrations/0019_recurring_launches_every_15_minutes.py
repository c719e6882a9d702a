"""The recurring survey launches run every 15 minutes, not once a day at 06:00.

A survey's next launch keeps the time of day of its first one (launched by hand at 14:00: every N
days at 14:00, as its page says), and a daily 06:00 run relaunched it up to a day late, on another
day. Run at every quarter hour, it goes within 15 minutes of the time announced; a run with nothing
due is one query on the surveys table, and each due survey is claimed by a conditional UPDATE.

The task moves to "*/15 * * * *" only while it is still 0002's "0 6 * * *" on a zone the project
put it on (TIME_ZONE, or the zone cxplatform.schedules last aligned the schedules to, which it
moves to TIME_ZONE after this migrate): an admin's own schedule is kept. Reversing puts it back on
06:00 only while it is still exactly this migration's.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import CRONTAB_FIELDS, ZONE_BEFORE_ANY_RECORD, schedule_like

NAME, TASK = "Recurring survey launches", "surveys.tasks.launch_due_surveys"
DAILY_AT_6 = {"minute": "0", "hour": "6", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
EVERY_15_MINUTES = DAILY_AT_6 | {"minute": "*/15", "hour": "*"}


def project_zones(apps) -> set[str]:
    record = apps.get_model("cxplatform", "ScheduleTimeZone").objects.filter(pk=1).first()
    return {settings.TIME_ZONE, record.time_zone if record else ZONE_BEFORE_ANY_RECORD}


def replace_crontab(apps, old: dict, new: dict) -> None:
    task = (
        apps.get_model("django_celery_beat", "PeriodicTask")
        .objects.select_related("crontab")
        .filter(name=NAME, task=TASK)
        .first()
    )
    if task is None or task.crontab is None:
        return  # removed, or put on an interval by an admin
    zone = str(task.crontab.timezone)
    if {name: getattr(task.crontab, name) for name in CRONTAB_FIELDS} != old or zone not in project_zones(apps):
        return
    # Another crontab row, not this one edited: an admin's task may share it.
    task.crontab = schedule_like(apps.get_model("django_celery_beat", "CrontabSchedule"), **new, timezone=zone)
    task.save(update_fields=["crontab"])
    # A running beat reloads when this moves; historical models in migrations send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def every_15_minutes(apps, schema_editor):
    replace_crontab(apps, DAILY_AT_6, EVERY_15_MINUTES)


def daily_at_6(apps, schema_editor):
    replace_crontab(apps, EVERY_15_MINUTES, DAILY_AT_6)


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0018_interrupted_links_expire"),
        ("cxplatform", "0002_schedule_time_zone"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(every_15_minutes, daily_at_6)]
