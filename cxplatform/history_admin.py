"""simple-history's model admin, with restoring a past version held to the change permission."""

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    """A past version's page saves what it is sent on POST ("Revert"), and simple-history asks for
    the view permission only: a viewer of the history, or anyone on a read-only admin (records,
    superusers included), could restore an old version. Here a revert needs what an edit needs,
    and what the change page shows read-only (a slug in use, a survey's anonymity) keeps its
    stored value: the past version would otherwise bring its own back."""

    def revert_disabled(self, request, obj=None):
        return not self.has_change_permission(request, obj) or super().revert_disabled(request, obj)

    def history_view(self, request, object_id, extra_context=None):
        self._check_id(self.model._meta.pk, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._check_id(self.model._meta.pk, object_id)
        self._check_id(self.model.history.model._meta.pk, version_id)
        if request.method == "POST" and self.revert_disabled(request, self.get_object(request, object_id)):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    @staticmethod
    def _check_id(field, value) -> None:
        # simple-history filters by the id as written: "abc" was a database error (a 500).
        try:
            field.to_python(value)
        except ValidationError:
            raise Http404(f"No record with the id {value!r}.") from None

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
