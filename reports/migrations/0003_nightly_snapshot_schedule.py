"""The nightly snapshot schedule as django-celery-beat rows, so admins can edit it in the admin.

02:30 every day in the project's time zone. Re-running is harmless (get_or_create by name); an
admin's later edits to the task are kept. Reversing removes the task only.
"""

import json

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import schedule_like

TASK_NAME = "Nightly report snapshots"
TASK = "reports.tasks.compute_periodic_snapshots"


def create_schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    tracker_model = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab = schedule_like(
        crontab_model, minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    _, created = task_model.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "kwargs": json.dumps({"kinds": ["earned_growth"], "periods": ["year", "quarter", "month"]}),
            "description": "Computes the report snapshots of the current and the last year, quarter and month.",
            "enabled": True,
        },
    )
    if created:
        # A running beat (DatabaseScheduler) reloads its schedule when this timestamp moves; the
        # model's own signal does that, but historical models in migrations send no signals.
        tracker_model.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    tracker_model = apps.get_model("django_celery_beat", "PeriodicTasks")
    if task_model.objects.filter(name=TASK_NAME, task=TASK).delete()[0]:
        tracker_model.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0002_reportsnapshot"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
