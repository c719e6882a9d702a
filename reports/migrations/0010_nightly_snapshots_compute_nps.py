"""The nightly snapshot schedule computes the NPS snapshots too.

0003 stored {"kinds": ["earned_growth"], ...} on the task before NPS snapshots existed, and beat
sends the stored kwargs: the nightly run never computed kind `nps`. The kwargs become both kinds
only while they are still exactly 0003's; an admin's edit is kept. Reversing restores 0003's
kwargs only while they are still exactly this migration's.
"""

import json

from django.db import migrations
from django.utils import timezone

TASK_NAME, TASK = "Nightly report snapshots", "reports.tasks.compute_periodic_snapshots"
PERIODS = ["year", "quarter", "month"]
EARNED_GROWTH_ONLY = {"kinds": ["earned_growth"], "periods": PERIODS}
WITH_NPS = {"kinds": ["earned_growth", "nps"], "periods": PERIODS}


def replace_kwargs(apps, old: dict, new: dict) -> None:
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task = task_model.objects.filter(name=TASK_NAME, task=TASK).first()
    if task is None or stored_kwargs(task) != old:
        return
    task.kwargs = json.dumps(new)
    task.save(update_fields=["kwargs"])
    # A running beat reloads when this moves; historical models in migrations send no signals.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def stored_kwargs(task) -> dict | None:
    try:
        return json.loads(task.kwargs or "{}")
    except ValueError:  # not JSON: nothing this migration wrote, so an admin's to keep
        return None


def add_nps(apps, schema_editor):
    replace_kwargs(apps, EARNED_GROWTH_ONLY, WITH_NPS)


def remove_nps(apps, schema_editor):
    replace_kwargs(apps, WITH_NPS, EARNED_GROWTH_ONLY)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0009_snapshot_sweeper_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_nps, remove_nps)]
