"""Third-party admins made to keep the record: users who left traces are not deleted, and
django-celery-beat's bulk actions save task by task.

- A user named by the audit log or an edit history would be set to null there by a delete (the
  records of this project refuse it by PROTECT): such a user is deactivated instead.
- The last active admin (active, with staff status, in the admin role) cannot leave the role, lose
  staff status, be deactivated or be deleted, and the three roles' groups cannot be deleted or
  renamed: either would leave nobody able to manage users and roles.
- Beat's enable, disable and toggle actions write with queryset.update(), which sends no signal:
  the audit log (cxplatform.audit) would never see a report or reminder schedule switched off.
"""

from auditlog import admin as auditlog_admin
from auditlog import filters as auditlog_filters
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from simple_history.models import registered_models

from .admin_guards import is_an_id
from .roles import ADMIN, ROLES

LAST_ADMIN = "the last active admin"
MAKE_ANOTHER_ADMIN = "make another user an admin (active, with staff status, in the admin role) first"


def users_with_traces(users) -> set:
    """The users named as the actor of an audit-log entry or the author of a past version."""
    found = set(LogEntry.objects.filter(actor__in=users).values_list("actor_id", flat=True))
    for model in registered_models.values():
        found |= set(model.history.filter(history_user__in=users).values_list("history_user_id", flat=True))
    return found


def active_admins():
    """The users who can manage users and roles in the Django admin."""
    return get_user_model().objects.filter(is_active=True, is_staff=True, groups__name=ADMIN)


def _wait_for_other_admin_changes() -> None:
    """Two admins taking the role from each other at once would each count the other as the one
    who remains, and both commit. A lock on the admin role's row, held until the change commits,
    puts such changes one after the other, so the second one counts what the first left."""
    if transaction.get_connection().in_atomic_block:  # the admin's change and delete views are atomic
        Group.objects.select_for_update().filter(name=ADMIN).first()


def last_admins_among(users) -> list:
    """Those of `users` who are active admins, if no active admin would be left without them."""
    _wait_for_other_admin_changes()
    pks = [user.pk for user in users]
    if active_admins().exclude(pk__in=pks).exists():
        return []
    return list(active_admins().filter(pk__in=pks))


class LastAdminKeepingUserChangeForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        user = self.instance
        if user.pk is not None and not self._stays_an_admin(data) and last_admins_among([user]):
            raise ValidationError(
                f"{user} is {LAST_ADMIN}: nobody could manage users and roles any more. "
                f"{MAKE_ANOTHER_ADMIN.capitalize()}."
            )
        return data

    def _stays_an_admin(self, data) -> bool:
        # A field this admin does not show (or that failed to validate) keeps the stored value.
        groups = data.get("groups", self.instance.groups.all())
        return bool(
            data.get("is_active", self.instance.is_active)
            and data.get("is_staff", self.instance.is_staff)
            and any(group.name == ADMIN for group in groups)
        )


class RecordKeepingUserAdmin(UserAdmin):
    form = LastAdminKeepingUserChangeForm

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        traced = users_with_traces(objs)
        protected = [
            *protected,
            *(
                f"{user}: named in the audit log or an edit history; deactivate instead"
                for user in objs
                if user.pk in traced
            ),
        ]
        protected += [f"{user}: {LAST_ADMIN}; {MAKE_ANOTHER_ADMIN}" for user in last_admins_among(objs)]
        return to_delete, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        """The bulk delete confirms outside a transaction: checked again under the lock."""
        with transaction.atomic():
            if last := last_admins_among(list(queryset)):
                raise PermissionDenied(f"{', '.join(map(str, last))}: {LAST_ADMIN}; {MAKE_ANOTHER_ADMIN}")
            super().delete_queryset(request, queryset)


class RoleKeepingGroupAdmin(GroupAdmin):
    """The roles' groups are named in code (cxplatform.roles): deleted or renamed, a role would lose
    its users and rights (and be created empty again by the next migrate). Other groups stay editable."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.name in ROLES:
            fields.append("name")
        return fields

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = [
            *protected,
            *(f"{group}: a role; roles cannot be deleted" for group in objs if group.name in ROLES),
        ]
        return to_delete, model_count, perms_needed, protected


class AuditedPeriodicTaskAdmin(PeriodicTaskAdmin):
    # The package's form template runs an inline script, which the CSP refuses: this one loads it
    # from static/js/periodic_task_form.js.
    change_form_template = "admin/cxplatform/periodictask_change_form.html"

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
admin.site.unregister(Group)
admin.site.register(Group, RoleKeepingGroupAdmin)


# --- The audit log's list ------------------------------------------------------------------------


class ResourceTypeFilter(auditlog_filters.ResourceTypeFilter):
    """auditlog's filter by model, but a value that is no content type id (?resource_type=abc, a
    tampered link) is refused as Django's own filters refuse theirs (the list with ?e=1), not a 500."""

    def queryset(self, request, queryset):
        # The facet counts ("Show counts") pass each choice's own id, an int.
        value = self.value()
        # isdecimal refuses "-1" and " 1"; is_an_id a number past the column's range (SQLite's 64 bits).
        if value is not None and not (str(value).isdecimal() and is_an_id(ContentType._meta.pk, value)):
            raise IncorrectLookupParameters(f"resource_type must be a content type id, not {value!r}")
        return super().queryset(request, queryset)


class AuditLogEntryAdmin(auditlog_admin.LogEntryAdmin):
    list_filter = [ResourceTypeFilter if spec is auditlog_filters.ResourceTypeFilter else spec
                   for spec in auditlog_admin.LogEntryAdmin.list_filter]


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, AuditLogEntryAdmin)
