"""Admin bulk actions refuse a selection that holds no real ids.

Django's admin filters the selected rows by the posted ids as written: a tampered or stale form
posting `_selected_action=abc` (or 1e309) raised a database error, a 500, on every changelist. The
ids are checked first; a selection holding one that is no id of the model changes nothing and says
so. Every registered admin gets the check, Django's and the libraries' included (`install`)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect


class SelectionIdsChecked:
    def response_action(self, request, queryset):
        pk = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.get_prep_value(pk.to_python(value))
        except (ValidationError, ValueError, TypeError):
            self.message_user(request, "The selection holds an id that is no record's: nothing was done.",
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


def install(site: admin.AdminSite = admin.site) -> None:
    """Give every model admin registered on `site` the check (run once the admins are registered)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, SelectionIdsChecked):
            continue
        checked = type(type(model_admin).__name__, (SelectionIdsChecked, type(model_admin)), {})
        site.unregister(model)
        site.register(model, checked)
