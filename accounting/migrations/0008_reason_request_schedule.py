"""Asking new customers their acquisition reason (SPEC §2) as a django-celery-beat row, editable in
the admin: daily at 09:00 in the project's time zone, customers acquired in the last 30 days.

The task asks a customer once (any earlier request or a known reason leaves them alone), so a missed
or repeated run is harmless. Re-running is harmless (get_or_create by name); an admin's later edits
are kept. Reversing removes the task only.
"""

import json

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import schedule_like

NAME, TASK = "Reason requests to new customers", "accounting.tasks.send_reason_requests_to_new_customers"


def _touch(apps):
    # A running beat reloads when this moves; historical models in migrations send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def create_schedule(apps, schema_editor):
    crontab = schedule_like(
        apps.get_model("django_celery_beat", "CrontabSchedule"), minute="0", hour="9", day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
    )
    _, created = apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "kwargs": json.dumps({"days": 30}),
            "enabled": True,
            "description": "Asks every new customer (acquired in the last `days` days) why they chose us, once.",
        },
    )
    if created:
        _touch(apps)


def remove_schedule(apps, schema_editor):
    if apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()[0]:
        _touch(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("accounting", "0007_revenue_quarter_rollup"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
