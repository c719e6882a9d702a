"""Admin bulk actions refuse a selection that holds no real ids.

Django's admin filters the selected rows by the posted ids as written: a tampered or stale form
posting `_selected_action=abc` (or 1e309, or an id past SQLite's 64 bits) raised an error, a 500,
on every changelist. The ids are checked first; a selection holding one that is no id of the model
changes nothing and says so. Every registered admin gets the check, Django's and the libraries'
included (`install`)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect

from .admin_guards import give_every_admin, is_an_id


class SelectionIdsChecked:
    def response_action(self, request, queryset):
        pk = self.model._meta.pk
        if not all(is_an_id(pk, value) for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            self.message_user(request, "The selection holds an id that is no record's: nothing was done.",
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


def install(site: admin.AdminSite = admin.site) -> None:
    """Give every model admin registered on `site` the check (run once the admins are registered)."""
    give_every_admin(SelectionIdsChecked, site)
