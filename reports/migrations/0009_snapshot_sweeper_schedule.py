"""The report snapshot sweeper as a django-celery-beat row (every 5 minutes), editable in the admin.

It computes again the snapshots a worker killed mid-computation (or a lost message) left running or
pending, minutes after their claim is abandoned instead of at the next nightly run. Re-running is
harmless (get_or_create by name); an admin's later edits are kept. Reversing removes it.
"""

from django.db import migrations
from django.utils import timezone

from cxplatform.schedules import schedule_like

NAME, TASK = "Report snapshot sweeper", "reports.tasks.sweep_snapshots"


def _touch(apps):
    # A running beat reloads when this moves; historical models in migrations send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def create_schedule(apps, schema_editor):
    interval = schedule_like(
        apps.get_model("django_celery_beat", "IntervalSchedule"), every=5, period="minutes"
    )
    _, created = apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "interval": interval, "enabled": True,
                  "description": "Computes again the report snapshots a lost worker or message left behind."},
    )
    if created:
        _touch(apps)


def remove_schedule(apps, schema_editor):
    if apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME, task=TASK).delete()[0]:
        _touch(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0008_snapshot_interruptions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
