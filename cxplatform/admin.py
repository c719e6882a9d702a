"""Third-party admins made to keep the record: users who left traces are not deleted, and
django-celery-beat's bulk actions save task by task.

- A user named by the audit log or an edit history would be set to null there by a delete (the
  records of this project refuse it by PROTECT): such a user is deactivated instead.
- Beat's enable, disable and toggle actions write with queryset.update(), which sends no signal:
  the audit log (cxplatform.audit) would never see a report or reminder schedule switched off.
"""

from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from simple_history.models import registered_models


def users_with_traces(users) -> set:
    """The users named as the actor of an audit-log entry or the author of a past version."""
    found = set(LogEntry.objects.filter(actor__in=users).values_list("actor_id", flat=True))
    for model in registered_models.values():
        found |= set(model.history.filter(history_user__in=users).values_list("history_user_id", flat=True))
    return found


class RecordKeepingUserAdmin(UserAdmin):
    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        traced = users_with_traces(objs)
        protected = [*protected, *(f"{user}: named in the audit log or an edit history; deactivate instead"
                                   for user in objs if user.pk in traced)]
        return to_delete, model_count, perms_needed, protected


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
admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), RecordKeepingUserAdmin)
