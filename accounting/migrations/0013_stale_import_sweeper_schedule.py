"""The stale import sweeper as a django-celery-beat row (hourly), editable in the admin.

An import's batch row is committed before its transaction, so a process killed mid-import (a web
worker past gunicorn's timeout, a stopped command) leaves it "running" for ever; the sweeper marks
it failed IMPORT_STALE_HOURS after its start. Re-running is harmless (get_or_create by name); an
admin's later edits are kept. Reversing removes it.
"""

from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import schedule_like

NAME, TASK = "Stale import sweeper", "accounting.tasks.fail_stale_imports"


def _touch(apps):
    # A running beat reloads when this moves; historical models in migrations send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def create_schedule(apps, schema_editor):
    interval = schedule_like(
        apps.get_model("django_celery_beat", "IntervalSchedule"), every=1, period="hours"
    )
    _, created = apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "interval": interval, "enabled": True,
                  "description": "Marks failed the imports a process that stopped mid-import left running."},
    )
    if created:
        _touch(apps)


def remove_schedule(apps, schema_editor):
    if apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()[0]:
        _touch(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("accounting", "0012_rollup_amount_wider"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
