"""The project's daily beat schedules run on the company's clock: TIME_ZONE as it is now.

The data migrations create the daily crontabs (launches at 06:00, reason requests at 09:00,
snapshots at 02:30) in the TIME_ZONE of the first `migrate`. An installation that sets TIME_ZONE
later would otherwise keep launching at 06:00 of the old zone, so every `migrate` (which
`run.py serve` runs at each start) moves the project's crontab schedules onto the current zone.
Only the project's own tasks are moved; their hour and minute stay as an admin left them.
"""

from django.conf import settings

PROJECT_TASKS = ("accounting.tasks.", "reports.tasks.", "surveys.tasks.")


def schedules_follow_time_zone(*, using: str = "default") -> int:
    """Point every project crontab task not on TIME_ZONE to the same crontab on it; how many moved."""
    from django.db.models import Q
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    ours = Q()
    for prefix in PROJECT_TASKS:
        ours |= Q(task__startswith=prefix)
    tasks = PeriodicTask.objects.using(using).filter(ours, crontab__isnull=False).select_related("crontab")
    moved = 0
    for task in tasks:
        old = task.crontab
        if str(old.timezone) == settings.TIME_ZONE:
            continue
        task.crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
            minute=old.minute, hour=old.hour, day_of_week=old.day_of_week, day_of_month=old.day_of_month,
            month_of_year=old.month_of_year, timezone=settings.TIME_ZONE,
        )
        task.save(using=using, update_fields=["crontab"])  # its signal tells a running beat to reload
        moved += 1
    return moved


def schedules_follow_time_zone_after_migrate(sender, using="default", **kwargs) -> None:
    if sender.label == "django_celery_beat":  # once per migrate; its tables exist by then
        schedules_follow_time_zone(using=using)
