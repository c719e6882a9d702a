"""simple-history's model admin, with restoring a past version held to the change permission."""

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    """A past version's page saves what it is sent on POST ("Revert"), and simple-history asks for
    the view permission only: a viewer of the history, or anyone on a read-only admin (records,
    superusers included), could restore an old version. Here a revert needs what an edit needs,
    and what the change page shows read-only (a slug in use, a survey's anonymity) keeps its
    stored value: the past version would otherwise bring its own back."""

    def revert_disabled(self, request, obj=None):
        return not self.has_change_permission(request, obj) or super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and self.revert_disabled(request, self.get_object(request, object_id)):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            self._keep_read_only_values(request, obj)
        super().save_model(request, obj, form, change)

    def _keep_read_only_values(self, request, obj) -> None:
        stored = self.model._default_manager.filter(pk=obj.pk).first()
        if stored is None:
            return
        for name in self.get_readonly_fields(request, stored):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue  # a display method, not a column
            if field.concrete:
                setattr(obj, field.attname, getattr(stored, field.attname))
