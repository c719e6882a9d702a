"""Every schedule the migrations give beat names a task a worker knows: a typo would fail silently."""

import pytest
from django_celery_beat.models import PeriodicTask

from cxplatform.celery import app

pytestmark = pytest.mark.django_db


def test_every_beat_schedule_runs_a_registered_task():
    app.loader.import_default_modules()  # what a worker imports at start
    schedules = dict(PeriodicTask.objects.exclude(task="celery.backend_cleanup").values_list("name", "task"))

    assert {
        "Detractor alert sweeper", "Survey sending sweeper", "Nightly report snapshots",
        "Reason requests to new customers", "Report snapshot sweeper",
    } <= schedules.keys()
    assert {name: task for name, task in schedules.items() if task not in app.tasks} == {}
