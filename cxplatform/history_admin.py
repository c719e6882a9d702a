"""simple-history's model admin, with restoring a past version held to the change permission."""

from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    """A past version's page saves what it is sent on POST ("Revert"), and simple-history asks for
    the view permission only: a viewer of the history, or anyone on a read-only admin (records,
    superusers included), could restore an old version. Here a revert needs what an edit needs."""

    def revert_disabled(self, request, obj=None):
        return not self.has_change_permission(request, obj) or super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and self.revert_disabled(request, self.get_object(request, object_id)):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
