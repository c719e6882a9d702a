"""Query filters of the accounting API (django-filter; drf-spectacular documents them)."""

from django_filters import rest_framework as filters

from cxplatform.api_filters import ChangeCursorFilter, FilterSet, IsoDateFromToRangeFilter
from cxplatform.text import canonical_text

from .models import (
    CostEntry,
    CostKind,
    Customer,
    ImportBatch,
    ImportKind,
    ImportStatus,
    ReasonKind,
    RevenueEntry,
)
from .selectors import REASON_CLASS


class TextFilter(filters.CharFilter):
    """An exact text identity (external id, segment, touchpoint), matched in NFC as stored."""

    def filter(self, qs, value):
        return super().filter(qs, canonical_text(value))


class CustomerFilter(FilterSet):
    external_id = TextFilter(help_text="Exact external id.")
    segment = TextFilter(help_text="Exact segment.")
    reason = filters.CharFilter(
        field_name="reason__slug", help_text="Slug of the answered reason category."
    )
    reason_class = filters.ChoiceFilter(
        choices=ReasonKind.choices,
        method="filter_reason_class",
        help_text="Class of the acquisition reason (the admin's mapping if any, else the answer);"
        " no answer or an unmapped 'other' is unknown.",
    )
    acquired_on = IsoDateFromToRangeFilter(
        help_text="acquired_on_after / acquired_on_before, inclusive dates as YYYY-MM-DD."
    )
    changed_after = ChangeCursorFilter()

    class Meta:
        model = Customer
        fields = ["external_id", "segment", "reason", "reason_class", "acquired_on", "changed_after"]

    def filter_reason_class(self, queryset, name, value):
        return queryset.annotate(reason_class=REASON_CLASS).filter(reason_class=value)


class LedgerFilter(FilterSet):
    customer = TextFilter(
        field_name="customer__external_id", help_text="External id of the customer."
    )
    entity = TextFilter(
        field_name="customer__entity__external_id",
        help_text="External id of the customer entity (top ancestor): all its members' lines.",
    )
    date = IsoDateFromToRangeFilter(help_text="date_after / date_before, inclusive dates as YYYY-MM-DD.")


class RevenueFilter(LedgerFilter):
    class Meta:
        model = RevenueEntry
        fields = ["customer", "entity", "date", "product", "external_ref"]


class CostFilter(LedgerFilter):
    kind = filters.ChoiceFilter(choices=CostKind.choices)

    class Meta:
        model = CostEntry
        fields = ["customer", "entity", "date", "kind", "external_ref"]


class ImportBatchFilter(FilterSet):
    kind = filters.ChoiceFilter(choices=ImportKind.choices)
    status = filters.ChoiceFilter(choices=ImportStatus.choices)

    class Meta:
        model = ImportBatch
        fields = ["kind", "status", "source"]
