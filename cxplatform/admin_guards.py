"""Guards every admin page gets, Django's and the libraries' included: a hostile but plausible URL
answers the admin's usual "?e=1" redirect or a 403, never a server error (`install`).

- SQLite, the embedded default, stores 64-bit integers and its driver refuses a bigger Python int
  with OverflowError. Django's related-field list filters (?survey__exact=, ?groups__exact=) pass
  the number as written; `is_an_id` is the check for the places that take ids themselves.
- Django's ChangeList builds the end of the date drill-down's range outside its try block:
  ?acquired_on__year=9999 runs into the year 10000, a 20-digit year overflows.
- The autocomplete endpoint takes a reverse relation's name (?field_name=responses) and fails on it.
- The search ANDs one OR-group (a lookup per search field) per word, uncapped: a pasted paragraph
  of ~1,000 words exceeds SQLite's expression depth (a 500), and PostgreSQL plans 400 words ORed
  across a join for ~20 s. A search past the staff search boxes' cap, or of more words than anyone
  types, is refused before any query (`search_refused`); the autocomplete suggests nothing for it.
- Two saves of one add or change page at once (a double click on "Save") both pass the form's
  uniqueness check before either commits; the second then fails on the unique index
  (`UniqueRaceAnswered`).
"""

import functools

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, connection
from django.db.models import ForeignObjectRel
from django.http import JsonResponse
from django.utils.text import smart_split

from accounting.forms import SEARCH_MAX_LENGTH

from .api_writes import UNIQUE_TAKEN_MEANWHILE, is_unique_violation

# A name, an email and an id typed together, with room to spare; a pasted paragraph is refused.
SEARCH_MAX_WORDS = 10
SEARCH_REFUSED = (
    f"The search was not run: a search is at most {SEARCH_MAX_LENGTH} characters and {SEARCH_MAX_WORDS} words."
)


def is_an_id(field, value) -> bool:
    """Whether `value` can be a value of `field` (a primary key), in the column's range if an integer."""
    try:
        value = field.get_prep_value(field.to_python(value))
    except (ValidationError, ValueError, TypeError):
        return False
    while field.is_relation:  # a one-to-one primary key stores the target's id
        field = field.target_field
    if not isinstance(value, int):
        return True
    try:
        low, high = connection.ops.integer_field_range(field.get_internal_type())
    except KeyError:
        return True  # not an integer column
    return (low is None or low <= value) and (high is None or value <= high)


def search_refused(term: str) -> bool:
    """Whether the admin's search refuses `term`: too long, or too many words as Django splits them
    (a quoted phrase is one)."""
    return len(term) > SEARCH_MAX_LENGTH or len(list(smart_split(term))) > SEARCH_MAX_WORDS


class GuardedChangeList:
    """Mixed in before a model admin's own ChangeList class."""

    def get_queryset(self, request, exclude_parameters=None):
        if self.search_fields and search_refused(self.query):
            self.model_admin.message_user(request, SEARCH_REFUSED, messages.ERROR)
            raise IncorrectLookupParameters(SEARCH_REFUSED)  # the list again, with ?e=1 and the message
        return super().get_queryset(request, exclude_parameters)

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as e:
            if not (self.date_hierarchy and f"{self.date_hierarchy}__year" in self.filter_params):
                raise  # not the drill-down's: a bug to see
            raise IncorrectLookupParameters(e) from e  # as Django answers ?..._month=13

    def get_results(self, request):
        try:
            super().get_results(request)
        except OverflowError as e:  # SQLite's driver, on an id past 64 bits (the first query runs here)
            raise IncorrectLookupParameters(e) from e


@functools.cache
def _guarded(changelist_class):
    return type(changelist_class.__name__, (GuardedChangeList, changelist_class), {})


class ChangeListGuarded:
    def get_changelist(self, request, **kwargs):
        return _guarded(super().get_changelist(request, **kwargs))


def refusing_reverse_relations(autocomplete_view):
    """Django refuses an unknown field_name with a 403 but calls a reverse relation's
    get_limit_choices_to(), which it has not: an AttributeError, a 500. Refused alike. A term the
    changelist's search would refuse suggests nothing (the search is the model admin's)."""

    @functools.wraps(autocomplete_view)
    def view(request):
        try:
            model = apps.get_model(request.GET["app_label"], request.GET["model_name"])
            field = model._meta.get_field(request.GET["field_name"])
        except (KeyError, LookupError, FieldDoesNotExist):
            return autocomplete_view(request)  # Django refuses these itself
        if isinstance(field, ForeignObjectRel):
            raise PermissionDenied
        if search_refused(request.GET.get("term", "")):
            return JsonResponse({"results": [], "pagination": {"more": False}})
        return autocomplete_view(request)

    view.refuses_reverse_relations = True
    return view


class UniqueRaceAnswered:
    """A save that loses a race on a unique value shows the form again, as a save a moment later
    gets it: Django's add and change pages save in a transaction, rolled back by the IntegrityError;
    the page is drawn once more from the same POST, and the form, checking again, sees the other
    request's row (committed: the insert waited for it) and names the field. That second drawing
    saves nothing: where the form finds nothing wrong (the other row since gone, a constraint no
    check of the form sees), it says so in its stead."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
        request.unique_taken_meanwhile = True
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):  # UserAdmin's takes `change` as a keyword only
        form = super().get_form(request, obj, **kwargs)
        if getattr(request, "unique_taken_meanwhile", False):
            return type(form.__name__, (NeverValidAgain, form), {})
        return form


class NeverValidAgain:
    """Mixed in before the form of a page drawn again after its save lost a race."""

    def full_clean(self):
        super().full_clean()
        if self.is_bound and not self._errors:
            self.add_error(None, UNIQUE_TAKEN_MEANWHILE)


def give_every_admin(mixin, site: admin.AdminSite = admin.site) -> None:
    """Re-register each model admin on `site` as a subclass with `mixin` first (once the admins are registered)."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, mixin):
            continue
        site.unregister(model)
        site.register(model, type(type(model_admin).__name__, (mixin, type(model_admin)), {}))


def install(site: admin.AdminSite = admin.site) -> None:
    """Before the URLs are built: get_urls() routes to `site.autocomplete_view` as it then is."""
    give_every_admin(ChangeListGuarded, site)
    give_every_admin(UniqueRaceAnswered, site)
    if not getattr(site.autocomplete_view, "refuses_reverse_relations", False):
        site.autocomplete_view = refusing_reverse_relations(site.autocomplete_view)
