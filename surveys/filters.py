"""Query filters of the surveys API (django-filter; drf-spectacular documents them)."""

from django.db.models import Q
from django_filters import rest_framework as filters

from accounting.filters import TextFilter
from cxplatform.api_filters import (
    ChangeCursorFilter,
    FilterSet,
    IsoDateFromToRangeFilter,
    IsoDateTimeFilter,
    StrictBooleanFilter,
)
from cxplatform.text import canonical_text

from .models import Invitation, InvitationState, Response, ResponseCategory, Survey, SurveyKind
from .selectors import DELIVERED_LABEL, invitations_in_state_shown


class SurveyFilter(FilterSet):
    kind = filters.ChoiceFilter(choices=SurveyKind.choices)

    class Meta:
        model = Survey
        fields = ["kind", "status", "anonymous", "imported"]


class InvitationFilter(FilterSet):
    # "delivered" too: an anonymous survey's invitations show it (as the admin's state filter takes it).
    state = filters.ChoiceFilter(
        choices=[*InvitationState.choices, (DELIVERED_LABEL, "Delivered (any survey)")],
        method="filter_state",
        help_text="An anonymous survey's sent, responded and expired invitations (and its failed ones interrupted "
        "while sending) read, and match, delivered only; delivered also matches named surveys' sent, responded "
        "and expired ones.",
    )
    customer = TextFilter(field_name="customer__external_id", help_text="External id of the customer.")
    touchpoint = TextFilter()
    changed_after = ChangeCursorFilter()

    class Meta:
        model = Invitation
        fields = ["survey", "state", "customer", "touchpoint", "reference", "launch", "changed_after"]

    def filter_state(self, queryset, name, value):
        # Filtering an anonymous survey by "responded" would list who answered: the rows as shown.
        return invitations_in_state_shown(queryset, value)


class ResponseFilter(FilterSet):
    band = filters.ChoiceFilter(
        field_name="category", choices=ResponseCategory.choices,
        help_text="promoter (9-10), passive (7-8) or detractor (0-6).",
    )
    answered = IsoDateFromToRangeFilter(
        field_name="answered_at__date", help_text="answered_after / answered_before, inclusive dates as YYYY-MM-DD."
    )
    # An answer edited within its window keeps its answered_at: an incremental pull goes by this.
    updated_after = IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text="Answers created or changed (an edit by the customer, a follow-up) at or after this moment.",
    )
    changed_after = ChangeCursorFilter()
    followed_up = StrictBooleanFilter(method="filter_followed_up", help_text="Whether staff followed up.")
    touchpoint = filters.CharFilter(
        method="filter_named_only", help_text="Never matches an anonymous survey's responses."
    )
    segment = filters.CharFilter(
        method="filter_named_only", help_text="Never matches an anonymous survey's responses."
    )

    class Meta:
        model = Response
        fields = [
            "survey", "band", "touchpoint", "segment", "answered", "updated_after", "changed_after", "source",
            "followed_up",
        ]

    def filter_followed_up(self, queryset, name, value):
        return queryset.filter(~Q(followed_up_at__isnull=value))

    def filter_named_only(self, queryset, name, value):
        # A match would tie an anonymous survey's answer to the touchpoint or segment it hides.
        return queryset.filter(survey__anonymous=False, **{name: canonical_text(value)})
