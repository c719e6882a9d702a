"""The survey schedules as django-celery-beat rows, so admins can edit them in the admin.

Sweeper every 5 minutes, reminders and expiry hourly, recurring launches daily at 06:00 in the
project's time zone. Re-running is harmless (get_or_create by name); an admin's later edits are kept.
Reversing removes these tasks only.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import schedule_like

EVERY_5_MINUTES = ("minutes", 5)
HOURLY = ("hours", 1)
SCHEDULES = [
    ("Survey sending sweeper", "surveys.tasks.sweep_invitations", EVERY_5_MINUTES,
     "Restarts sending after a lost worker or broker; fails rows a dead worker left mid-send."),
    ("Survey reminders", "surveys.tasks.send_reminders", HOURLY,
     "Sends the one reminder to non-responders of surveys that have one."),
    ("Survey invitation expiry", "surveys.tasks.expire_invitations", HOURLY,
     "Marks unanswered invitations past their expiry date expired."),
]
DAILY_NAME, DAILY_TASK = "Recurring survey launches", "surveys.tasks.launch_due_surveys"


def _touch(apps):
    # A running beat reloads when this moves; historical models in migrations send no signals.
    tracker_model = apps.get_model("django_celery_beat", "PeriodicTasks")
    tracker_model.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def create_schedules(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    created_any = False
    for name, task, (period, every), description in SCHEDULES:
        interval = schedule_like(interval_model, every=every, period=period)
        _, created = task_model.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "description": description, "enabled": True}
        )
        created_any |= created
    crontab = schedule_like(
        crontab_model, minute="0", hour="6", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    _, created = task_model.objects.get_or_create(
        name=DAILY_NAME,
        defaults={"task": DAILY_TASK, "crontab": crontab, "enabled": True,
                  "description": "Launches the recurring relationship surveys whose next launch is due."},
    )
    if created_any or created:
        _touch(apps)


def remove_schedules(apps, schema_editor):
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    names = [name for name, *_ in SCHEDULES] + [DAILY_NAME]
    if task_model.objects.filter(name__in=names, task__startswith="surveys.tasks.").delete()[0]:
        _touch(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
