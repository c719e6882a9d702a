"""The expired sessions and API tokens sweeper as a django-celery-beat row (daily), editable in the admin.

Nothing else deletes a session left to expire, or the token of an integration that stopped calling
(cxplatform.tasks). Re-running is harmless (get_or_create by name); an admin's later edits are
kept. Reversing removes it.
"""

from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import schedule_like

NAME, TASK = "Expired sessions and API tokens sweeper", "cxplatform.tasks.clear_expired_logins"


def _touch(apps):
    # A running beat reloads when this moves; historical models in migrations send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def create_schedule(apps, schema_editor):
    interval = schedule_like(apps.get_model("django_celery_beat", "IntervalSchedule"), every=1, period="days")
    _, created = apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": interval,
            "enabled": True,
            "description": "Deletes expired staff sessions, and API tokens expired for over 30 days.",
        },
    )
    if created:
        _touch(apps)


def remove_schedule(apps, schema_editor):
    if apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()[0]:
        _touch(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cxplatform", "0002_schedule_time_zone"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
