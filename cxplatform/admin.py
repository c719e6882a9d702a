"""django-celery-beat's task admin, with its bulk actions saving task by task.

Its enable, disable and toggle actions write with queryset.update(), which sends no signal: the
audit log (cxplatform.audit) would never see a report or reminder schedule switched off.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask


class AuditedPeriodicTaskAdmin(PeriodicTaskAdmin):
    @admin.action(description=_("Enable selected tasks"))
    def enable_tasks(self, request, queryset):
        self._save_each(request, queryset, lambda task: True, "enabled")

    @admin.action(description=_("Disable selected tasks"))
    def disable_tasks(self, request, queryset):
        self._save_each(request, queryset, lambda task: False, "disabled")

    @admin.action(description=_("Toggle activity of selected tasks"))
    def toggle_tasks(self, request, queryset):
        self._save_each(request, queryset, lambda task: not task.enabled, "toggled")

    def _save_each(self, request, queryset, enabled, done: str) -> None:
        tasks = list(queryset)
        for task in tasks:
            task.enabled = enabled(task)
            task.save()  # signals: the audit log, and beat's own "schedules changed" mark
        self.message_user(request, f"{len(tasks)} task(s) {done}.")


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, AuditedPeriodicTaskAdmin)
