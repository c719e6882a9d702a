"""Filter backends of the REST API (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"])."""

from django import forms
from django.db import models
from django_filters import rest_framework as django_filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters, serializers

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


class FilterSet(django_filters.FilterSet):
    """The API's filter sets: a model's boolean fields filter strictly."""

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }


class DjangoFilterBackend(django_filters.DjangoFilterBackend):
    """Filter sets made from a view's `filterset_fields` are strict too."""

    filterset_base = FilterSet


class SearchFilter(filters.SearchFilter):
    """DRF's search, with its 400 keyed by the parameter like every other bad parameter.

    DRF answers `?search=` holding a NUL character with a bare list of messages; the schema (and
    clients) expect an object of messages by parameter name.
    """

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.search_param: exc.detail}) from exc


class OrderingFilter(filters.OrderingFilter):
    """`ordering=`, with the primary key last: many rows share a date, a score or a name, and
    without a unique last key PostgreSQL returns tied rows in a different order on each page, so
    walking the pages listed some twice and others never."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(field.lstrip("-") in ("pk", "id") for field in ordering):
            ordering = [*ordering, "pk"]
        return ordering
