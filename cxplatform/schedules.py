"""The project's daily beat schedules follow the company's clock (TIME_ZONE) when it changes.

The data migrations create the crontabs (launches every 15 minutes, reason requests at 09:00,
snapshots at 02:30) in the TIME_ZONE of the first `migrate`. An installation that sets TIME_ZONE
later would otherwise keep sending reason requests at 09:00 of the old zone. So every `migrate` (which
`run.py serve` runs at each start) compares TIME_ZONE with the zone it last aligned the schedules
to, kept in cxplatform.ScheduleTimeZone:

- the same zone: nothing moves. A task an admin put on another zone (09:00 Paris for the
  customers' morning while the books stay on UTC) keeps it.
- another zone: the project's crontab tasks still on the recorded zone move to the same crontab on
  TIME_ZONE, then TIME_ZONE is recorded. Tasks on any other zone are an admin's choice and stay.
- no record yet (a new installation, or the first `migrate` since the record exists): the previous
  zone counts as UTC, TIME_ZONE's default. A new installation's schedules are already on TIME_ZONE,
  so nothing moves; an installation that ran on the default and now sets TIME_ZONE has its
  schedules moved. The one case a missing record cannot tell apart: where TIME_ZONE was set before
  the record existed, a task an admin moved onto UTC since the last `migrate` goes back to
  TIME_ZONE this once, as every `migrate` did before.

Only the project's own tasks move; their hour and minute stay as an admin left them.
"""

from django.apps import apps as global_apps
from django.conf import settings
from django.db import transaction

PROJECT_TASKS = ("accounting.tasks.", "reports.tasks.", "surveys.tasks.")
# TIME_ZONE's default in settings: the zone of the schedules an installation made before the record.
ZONE_BEFORE_ANY_RECORD = "UTC"
CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


def schedules_follow_time_zone(*, using: str = "default") -> int:
    """Move the project's crontab tasks still on the last aligned zone onto TIME_ZONE; how many moved."""
    from .models import ScheduleTimeZone

    records = ScheduleTimeZone.objects.using(using)
    with transaction.atomic(using=using):
        record = records.select_for_update().filter(pk=ScheduleTimeZone.SINGLE).first()
        if record and record.time_zone == settings.TIME_ZONE:
            return 0
        previous = record.time_zone if record else ZONE_BEFORE_ANY_RECORD
        moved = move_project_tasks(previous, settings.TIME_ZONE, using=using)
        records.update_or_create(pk=ScheduleTimeZone.SINGLE, defaults={"time_zone": settings.TIME_ZONE})
    return moved


def move_project_tasks(old_zone: str, new_zone: str, *, using: str) -> int:
    """Point the project's tasks on a crontab of old_zone to the same crontab on new_zone."""
    if old_zone == new_zone:
        return 0
    moved = 0
    for task in project_crontab_tasks(old_zone, using=using):
        task.crontab = crontab_like(task.crontab, new_zone, using=using)
        task.save(using=using, update_fields=["crontab"])  # its signal tells a running beat to reload
        moved += 1
    return moved


def project_crontab_tasks(zone: str, *, using: str):
    from django.db.models import Q
    from django_celery_beat.models import PeriodicTask

    ours = Q()
    for prefix in PROJECT_TASKS:
        ours |= Q(task__startswith=prefix)
    return PeriodicTask.objects.using(using).filter(ours, crontab__timezone=zone).select_related("crontab")


def schedule_like(model, **fields):
    """The oldest schedule (interval, crontab) with these fields, or a new one: for migrations too,
    with their historical models. Not get_or_create: schedules are not unique, and a duplicate an
    admin saved would stop `migrate` (MultipleObjectsReturned), so `run.py serve`."""
    return model.objects.filter(**fields).order_by("pk").first() or model.objects.create(**fields)


def crontab_like(crontab, zone: str, *, using: str):
    """The oldest crontab with the same fields on zone, or a new one.

    Not get_or_create: crontabs are not unique (the admin saves duplicates, two concurrent
    migrates can make them) and it would stop `migrate`, so `run.py serve`, on two of them.
    """
    from django_celery_beat.models import CrontabSchedule

    fields = {name: getattr(crontab, name) for name in CRONTAB_FIELDS} | {"timezone": zone}
    crontabs = CrontabSchedule.objects.using(using)
    return crontabs.filter(**fields).order_by("pk").first() or crontabs.create(**fields)


def schedules_follow_time_zone_after_migrate(sender, using="default", apps=None, **kwargs) -> None:
    # Once per migrate (every app sends the signal). A partial migrate (`migrate cxplatform zero`)
    # may leave a table out; a flush sends no `apps` and keeps every table.
    if sender.label == "django_celery_beat" and tables_migrated(apps or global_apps):
        schedules_follow_time_zone(using=using)


def tables_migrated(apps) -> bool:
    try:
        apps.get_model("cxplatform", "ScheduleTimeZone")
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return False
    return True
