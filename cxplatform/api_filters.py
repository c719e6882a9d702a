"""Filter backends of the REST API (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"])."""

import datetime as dt
import re

from django import forms
from django.db import models
from django.forms.utils import ErrorDict
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields
from django_filters import rest_framework as django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, serializers

from accounting.forms import SEARCH_MAX_LENGTH

from .admin_guards import SEARCH_MAX_WORDS, SEARCH_REFUSED

TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


class _CaselessChoiceField(forms.TypedChoiceField):
    def to_python(self, value):
        return super().to_python(value).lower()  # True, TRUE (Python clients send True) as true


@extend_schema_field({"type": "string", "enum": [*TRUE, *FALSE]})  # also for filters by method, no model field
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """true or false (also 1/0, yes/no, as the staff pages write it); anything else is a 400.

    django-filter's BooleanFilter reads any other value as "no filter", so `?followed_up=maybe`
    answered 200 with the whole, unfiltered list."""

    field_class = _CaselessChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(value, value) for value in TRUE + FALSE])
        kwargs.setdefault("coerce", lambda value: value in TRUE)
        super().__init__(*args, **kwargs)


# ASCII digits only: Python's \d also takes Arabic-Indic and other digits.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class IsoDateField(forms.DateField):
    """A date as YYYY-MM-DD only.

    Django's DateField reads the formats of the request's language (LocaleMiddleware follows
    Accept-Language): `05/01/2025` was 1 May in English and 5 January in French, so the same
    request of an integration returned other rows depending on a header."""

    input_formats = ["%Y-%m-%d"]
    default_error_messages = {
        "invalid": _("Enter a date as YYYY-MM-DD."),
        "no_such_day": _("%(value)s is not a valid calendar date."),
    }

    def strptime(self, value, format):
        if not _ISO_DATE.fullmatch(value):  # strptime alone also takes 2025-1-5
            raise ValueError(value)
        try:
            return super().strptime(value, format)
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["no_such_day"], code="no_such_day", params={"value": value}
            ) from None


class IsoDateFilter(django_filters.DateFilter):
    field_class = IsoDateField


# YYYY-MM-DD, optionally with a time and an offset; ASCII digits only, as IsoDateField's.
_ISO_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?", re.ASCII
)


class IsoDateTimeField(forms.Field):
    """An ISO 8601 date-time, or a date for the start of that day; without an offset, in TIME_ZONE.

    Django's DateTimeField falls back on the formats of the request's language, as its DateField
    did (see IsoDateField above)."""

    default_error_messages = {
        "invalid": _(
            "Enter a date-time as YYYY-MM-DDThh:mm:ssZ or with an offset (+hh:mm, its + URL-encoded),"
            " or a date as YYYY-MM-DD."
        ),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not _ISO_DATE_TIME.fullmatch(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            moment = dt.datetime.fromisoformat(value)  # a date alone reads as its midnight
            moment = make_aware(moment) if is_naive(moment) else moment
            # In UTC here: a moment of year 1 or 9999 outside UTC's range failed in the database (a 500).
            return moment.astimezone(dt.UTC)
        except (ValueError, OverflowError):  # 2025-02-30, 25:00, 0001-01-01T00:00+01:00
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


# A plain string: a date is taken too. An overridden schema drops the help_text, hence the description.
@extend_schema_field({
    "type": "string",
    "example": "2025-03-10T12:00:00Z",
    "description": "At or after this moment: an ISO 8601 date-time (without an offset, in the server's"
    " TIME_ZONE), or a date for the start of that day.",
})
class IsoDateTimeFilter(django_filters.Filter):
    field_class = IsoDateTimeField


class ChangeCursorField(forms.Field):
    """`<updated_at>,<id>` of the last row a client read: (moment in UTC, id)."""

    MAX_ID = 2**63 - 1
    default_error_messages = {
        "invalid": _(
            "Enter the updated_at and the id of the last row read, joined by a comma, such as"
            " 2025-03-10T12:00:00.123456Z,4711 (a + in the offset URL-encoded)."
        ),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        moment, comma, pk = value.rpartition(",")
        if not comma or not pk.isascii() or not pk.isdigit() or not int(pk) <= self.MAX_ID:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return IsoDateTimeField().to_python(moment), int(pk)
        except forms.ValidationError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


@extend_schema_field({
    "type": "string",
    "example": "2025-03-10T12:00:00.123456Z,4711",
    "description": "The updated_at and id of the last row read, joined by a comma: the rows changed after it,"
    " listed by updated_at, then id (ordering= cannot be given with it). Ask for page 1 again with the last"
    " row's values until a page comes back empty; an edit of a row already read lists it again, later.",
})
class ChangeCursorFilter(django_filters.Filter):
    """Keyset paging over (updated_at, id) for incremental pulls. Page numbers shift when a row read
    on an earlier page changes (it moves to the end, and the next page skips a row); a position
    given by the last row read does not."""

    field_class = ChangeCursorField

    def filter(self, queryset, value):
        if value is None:
            return queryset
        if self.parent is not None and self.parent.data.get("ordering"):
            raise serializers.ValidationError(
                {"ordering": [f"Leave ordering out with {self.field_name}: it lists by updated_at, then id."]}
            )
        moment, pk = value
        after = models.Q(updated_at__gt=moment) | models.Q(updated_at=moment, pk__gt=pk)
        return queryset.filter(after).order_by("updated_at", "pk")


class IsoDateRangeField(filter_fields.DateRangeField):
    def __init__(self, *args, **kwargs):
        # RangeField's own __init__, with ISO date fields instead of DateRangeField's
        super(filter_fields.DateRangeField, self).__init__((IsoDateField(), IsoDateField()), *args, **kwargs)


class IsoDateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    """`<name>_after` / `<name>_before`, inclusive dates as YYYY-MM-DD (see IsoDateField)."""

    field_class = IsoDateRangeField


class FilterSet(django_filters.FilterSet):
    """The API's filter sets: a model's boolean fields filter strictly, its dates are ISO dates,
    and a bad bound of a range is a 400 keyed by its own parameter."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
        models.DateField: {"filter_class": IsoDateFilter},
    }

    @property
    def form(self):
        form = super().form
        # A range is two inputs under one label that points at neither (the browsable API's
        # Filters dialog): each input is named by its own parameter for screen readers.
        for field in form.fields.values():
            if isinstance(field, filter_fields.RangeField):
                for suffix, widget in zip(field.widget.suffixes, field.widget.widgets, strict=True):
                    widget.attrs.setdefault("aria-label", f"{field.label}: {suffix}")
        return form

    @property
    def errors(self) -> ErrorDict:
        # A range is one form field for two parameters; its errors came back under `date`, a
        # parameter no client sends, instead of `date_after` or `date_before`.
        errors = ErrorDict(self.form.errors)
        for name, field in self.form.fields.items():
            if name in errors and isinstance(field, filter_fields.RangeField):
                by_parameter = _range_errors_by_parameter(self.form[name])
                if by_parameter:
                    del errors[name]
                    errors.update(by_parameter)
        return errors


def _range_errors_by_parameter(bound_field) -> dict:
    """Each bound of a range cleaned on its own, its errors under its parameter's name."""
    field, widget = bound_field.field, bound_field.field.widget
    values = widget.value_from_datadict(bound_field.form.data, bound_field.form.files, bound_field.html_name)
    errors = {}
    for suffix, bound, value in zip(widget.suffixes, field.fields, values, strict=True):
        try:
            bound.clean(value)
        except forms.ValidationError as exc:
            parameter = f"{bound_field.html_name}_{suffix}" if suffix else bound_field.html_name
            errors[parameter] = bound_field.form.error_class(exc.error_list)
    return errors


class DjangoFilterBackend(django_filters.DjangoFilterBackend):
    """Filter sets made from a view's `filterset_fields` are strict too."""

    filterset_base = FilterSet


class SearchFilter(filters.SearchFilter):
    """DRF's search, with its 400 keyed by the parameter like every other bad parameter.

    DRF answers `?search=` holding a NUL character with a bare list of messages; the schema (and
    clients) expect an object of messages by parameter name. A search past the admin's and the
    staff search boxes' cap is refused before any query, as there: DRF ANDs one OR-group per word,
    and a pasted paragraph was a 500 on SQLite and a minute of planning on PostgreSQL. Its words
    are counted as DRF splits them: on commas too ("a,a,…" is as many terms).
    """

    def get_search_terms(self, request):
        term = request.query_params.get(self.search_param, "")
        if len(term) > SEARCH_MAX_LENGTH:  # before DRF splits a long one
            raise self._refused()
        try:
            words = super().get_search_terms(request)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.search_param: exc.detail}) from exc
        if len(words) > SEARCH_MAX_WORDS:
            raise self._refused()
        return words

    def _refused(self):
        return serializers.ValidationError({self.search_param: [SEARCH_REFUSED]})


class OrderingFilter(filters.OrderingFilter):
    """`ordering=`, with the primary key last: many rows share a date, a score or a name, and
    without a unique last key PostgreSQL returns tied rows in a different order on each page, so
    walking the pages listed some twice and others never."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering = [*ordering, "pk"]
        return ordering
