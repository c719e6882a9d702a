"""Query filters of the surveys API (django-filter; drf-spectacular documents them)."""

import datetime as dt
import re

from django import forms
from django.db.models import Q
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from cxplatform.api_filters import FilterSet, IsoDateFromToRangeFilter, StrictBooleanFilter

from .models import Invitation, InvitationState, Response, ResponseCategory, Survey, SurveyKind
from .selectors import invitations_in_state_shown


class SurveyFilter(FilterSet):
    kind = filters.ChoiceFilter(choices=SurveyKind.choices)

    class Meta:
        model = Survey
        fields = ["kind", "status", "anonymous", "imported"]


class InvitationFilter(FilterSet):
    state = filters.ChoiceFilter(
        choices=InvitationState.choices,
        method="filter_state",
        help_text="Sent, responded and expired (and failed ones interrupted while sending) never match an "
        "anonymous survey's invitations.",
    )
    customer = filters.CharFilter(field_name="customer__external_id", help_text="External id of the customer.")

    class Meta:
        model = Invitation
        fields = ["survey", "state", "customer", "touchpoint", "reference", "launch"]

    def filter_state(self, queryset, name, value):
        # Filtering an anonymous survey by "responded" would list who answered: the rows as shown.
        return invitations_in_state_shown(queryset, value)


# YYYY-MM-DD, optionally with a time and an offset; ASCII digits only, as IsoDateField's.
_ISO_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?", re.ASCII
)


class IsoDateTimeField(forms.Field):
    """An ISO 8601 date-time, or a date for the start of that day; without an offset, in TIME_ZONE.

    Django's DateTimeField falls back on the formats of the request's language, as its DateField
    did (see cxplatform.api_filters.IsoDateField)."""

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
class IsoDateTimeFilter(filters.Filter):
    field_class = IsoDateTimeField


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
    followed_up = StrictBooleanFilter(method="filter_followed_up", help_text="Whether staff followed up.")
    touchpoint = filters.CharFilter(
        method="filter_named_only", help_text="Never matches an anonymous survey's responses."
    )
    segment = filters.CharFilter(
        method="filter_named_only", help_text="Never matches an anonymous survey's responses."
    )

    class Meta:
        model = Response
        fields = ["survey", "band", "touchpoint", "segment", "answered", "updated_after", "source", "followed_up"]

    def filter_followed_up(self, queryset, name, value):
        return queryset.filter(~Q(followed_up_at__isnull=value))

    def filter_named_only(self, queryset, name, value):
        # A match would tie an anonymous survey's answer to the touchpoint or segment it hides.
        return queryset.filter(survey__anonymous=False, **{name: value})
