"""Django admin of the surveys app: survey settings (with history), and the records they produce.

Launches, invitations and responses are records: read-only here, superusers included. For an
anonymous survey the admin hides the same things as the staff UI and the API: a response shows no
customer or invitation (nor does its history), and an invitation never says whether it was answered.
Their lists (and the customers') take no URL lookup beyond their declared filters, which would
otherwise tell answered invitations apart or lead from a response to its customer.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Q

from accounting.admin import DeclaredFiltersOnlyMixin, ReadOnlyAdminMixin
from cxplatform.history_admin import HistoryAdmin
from cxplatform.text import canonical_text

from .forms import (
    CompanySplitDateTimeField,
    add_survey_rule_errors,
    changed_columns,
    limit_to_alert_owners,
    show_launch_written_as_shown,
)
from .launch import audience_change_error
from .models import (
    Invitation,
    InvitationState,
    Launch,
    Response,
    SuppressedAddress,
    Survey,
    address_forms,
    address_lowered,
    address_normalized,
)
from .selectors import DELIVERED_LABEL, invitation_state_shown, invitations_in_state_shown

# --- Surveys -------------------------------------------------------------------------------------


class SurveyAdminForm(forms.ModelForm):
    """The staff form's rules on a survey's kind, anonymity, audience, reminder and owner, for the
    admin and its reverts. "Changed" and "current" mean as stored: on a revert, the form's instance
    and initial values are the past version's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored = Survey.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        if "owner" in self.fields:
            limit_to_alert_owners(self.fields["owner"], current_owner_id=self.stored and self.stored.owner_id)
        if self.stored is not None:
            show_launch_written_as_shown(self)

    def clean(self):
        data = super().clean()
        errors = self.instance.change_errors(
            kind=data.get("kind"), repeat_days=data.get("repeat_days"), anonymous=bool(data.get("anonymous"))
        )
        for field, message in errors:
            if field in self.fields:  # read-only ones (anonymity once promised) keep their stored value
                self.add_error(field, message)
        add_survey_rule_errors(self, data)  # beside the field, not the constraint's name above the form
        if "audience_segment" in data:  # in NFC, as the customers' segments (cxplatform.text)
            data["audience_segment"] = canonical_text(data["audience_segment"])
        self.check_segment(data.get("audience"), data.get("audience_segment"))
        return data

    def check_segment(self, audience, segment) -> None:
        """A typo (SMBB for SMB) would make every launch, the daily relaunch too, refuse it."""
        if error := audience_change_error(self.stored, audience, segment):
            self.add_error("audience_segment", error)


@admin.register(Survey)
class SurveyAdmin(HistoryAdmin):
    form = SurveyAdminForm
    list_display = ["name", "kind", "status", "audience", "anonymous", "imported", "owner", "created_at"]
    list_filter = ["kind", "status", "anonymous", "imported", "audience"]
    search_fields = ["name__ifind"]
    list_select_related = ["owner"]
    history_list_display = ["status", "anonymous", "audience"]
    formfield_overrides = {  # as the staff form does: https assumed, the company's clock read as it does
        models.URLField: {"assume_scheme": "https"},
        models.DateTimeField: {"form_class": CompanySplitDateTimeField},
    }

    def get_readonly_fields(self, request, obj=None):
        fields = ["imported", "created_at", "updated_at"]
        if self._stored_anonymous(obj):
            fields.append("anonymous")  # a promise made to respondents cannot be taken back
        return fields

    # A save (or revert) takes the row lock a launch holds while it invites, before the form checks
    # the change: it waits for the launch, then sees the survey as the launch left it (its kind
    # locked by then). The change page runs in a transaction already; a revert does not.
    def get_object(self, request, object_id, from_field=None):
        survey = super().get_object(request, object_id, from_field)
        if survey is not None and request.method == "POST" and transaction.get_connection().in_atomic_block:
            try:
                survey.refresh_from_db(from_queryset=Survey.objects.select_for_update())
            except Survey.DoesNotExist:
                return None  # deleted meanwhile: the admin's "does not exist"
        return survey

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        request.reverting_survey = True  # a revert restores the version's status and schedule too
        with transaction.atomic():
            return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        self._keep_read_only_values(request, obj)
        obj._history_user = request.user  # what simple-history's save_model sets
        # Only what this edit (or revert) changes, not every column of the form's copy; nor the
        # status and next launch a launch wrote after the change page was drawn.
        page_changed = None if getattr(request, "reverting_survey", False) else form.changed_data
        obj.save(update_fields=changed_columns(obj, form.stored, form.fields, page_changed=page_changed))

    # A launched survey cannot be deleted: its invitations and launches are read-only here, so
    # Django's delete page refuses it. These lock the row a launch (and a trigger) takes first: one
    # under way since the page was read commits before the check, which then sees its records.
    def delete_model(self, request, obj):
        if _launched(Survey.objects.select_for_update().filter(pk=obj.pk)):
            raise PermissionDenied("This survey has been launched meanwhile.")
        super().delete_model(request, obj)

    @transaction.atomic  # bulk actions run outside a transaction: the deletions' log entries too
    def response_action(self, request, queryset):
        return super().response_action(request, queryset)

    def delete_queryset(self, request, queryset):
        if _launched(Survey.objects.select_for_update().filter(pk__in=[survey.pk for survey in queryset])):
            raise PermissionDenied("A survey of the selection has been launched meanwhile.")
        super().delete_queryset(request, queryset)

    @staticmethod
    def _stored_anonymous(obj) -> bool:
        # As stored now: on a past version's page (history), obj is that version.
        return obj is not None and obj.pk is not None and Survey.objects.filter(pk=obj.pk, anonymous=True).exists()


def _launched(surveys) -> list:
    """Those of `surveys` (a queryset or a list) with invitations or launches, in one query."""
    ids = [survey.pk for survey in surveys]
    return list(
        Survey.objects.filter(pk__in=ids).filter(
            models.Exists(Invitation.objects.filter(survey=models.OuterRef("pk")))
            | models.Exists(Launch.objects.filter(survey=models.OuterRef("pk")))
        )
    )


@admin.register(Launch)
class LaunchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "survey",
        "launched_at",
        "launched_by",
        "via",
        "audience",
        "audience_segment",
        "sample_percent",
        "audience_size",
    ]
    list_filter = ["via", "audience", "survey"]
    list_select_related = ["survey", "launched_by"]
    date_hierarchy = "launched_at"


# --- Invitations ---------------------------------------------------------------------------------


class StateFilter(admin.SimpleListFilter):
    """The state, as anonymous surveys may show it: their delivered invitations are one group."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [*InvitationState.choices, (DELIVERED_LABEL, "Delivered (any survey)")]

    def queryset(self, request, queryset):
        return invitations_in_state_shown(queryset, self.value())


INVITATION_FIELDS = [
    "survey",
    "launch",
    "customer",
    "email",
    "language",
    "touchpoint",
    "reference",
    "state_shown",
    "suppression_reason",
    "send_after",
    "claimed_at",
    "sent_at",
    "attempts",
    "last_error",
    "message_id",
    "reminder_claimed_at",
    "reminder_sent_at",
    "expires_at",
    "responded_at",
    "bounced_at",
    "created_at",
]
# What would tell an anonymous survey's answered invitations from the others.
ANSWER_REVEALING = {"reminder_claimed_at", "reminder_sent_at", "responded_at"}


@admin.register(Invitation)
class InvitationAdmin(DeclaredFiltersOnlyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The token's salt and hash are never shown: with the salt and the secret key one has the link."""

    list_display = [
        "id",
        "survey",
        "customer",
        "state_shown",
        "suppression_reason",
        "touchpoint",
        "reference",
        "sent_at",
        "created_at",
    ]
    list_filter = [StateFilter, "suppression_reason", "survey__kind", "survey"]
    search_fields = ["customer__external_id", "email__ifind", "reference"]
    list_select_related = ["survey", "customer"]
    date_hierarchy = "created_at"

    def get_fields(self, request, obj=None):
        if obj is not None and obj.survey.anonymous:
            return [name for name in INVITATION_FIELDS if name not in ANSWER_REVEALING]
        return INVITATION_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="state")
    def state_shown(self, obj):
        return invitation_state_shown(obj)


# --- Responses -----------------------------------------------------------------------------------


RESPONSE_FIELDS = [
    "survey",
    "invitation",
    "customer",
    "score",
    "category",
    "reason",
    "suggestion",
    "answered_at",
    "updated_at",
    "touchpoint",
    "segment",
    "language",
    "source",
    "followed_up_at",
    "followed_up_by",
    "follow_up_note",
]
# The touchpoint, segment and language point to the customer too: an invitation lists its customer
# with its touchpoint, and a segment may hold a single customer.
IDENTIFYING = {"invitation", "customer", "touchpoint", "segment", "language"}


class AnonymityFilter(admin.SimpleListFilter):
    title = "anonymous survey"
    parameter_name = "anonymous"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(survey__anonymous=self.value() == "yes")
        return queryset


@admin.register(Response)
class ResponseAdmin(DeclaredFiltersOnlyMixin, ReadOnlyAdminMixin, HistoryAdmin):
    """Searchable by the answer's text only: a search by customer would single out an anonymous answer."""

    list_display = [
        "id",
        "survey",
        "score",
        "category",
        "customer_shown",
        "touchpoint_shown",
        "segment_shown",
        "source",
        "answered_at",
        "followed_up_at",
    ]
    list_filter = ["category", "source", AnonymityFilter, "survey__kind", "survey"]
    search_fields = ["reason__ifind", "suggestion__ifind"]
    list_select_related = ["survey", "customer"]
    date_hierarchy = "answered_at"
    history_list_display = ["score", "followed_up_at"]

    def get_fields(self, request, obj=None):
        if obj is not None and obj.survey.anonymous:
            return [name for name in RESPONSE_FIELDS if name not in IDENTIFYING]
        return RESPONSE_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="customer")
    def customer_shown(self, obj):
        return "(anonymous)" if obj.survey.anonymous else obj.customer.external_id

    @admin.display(description="touchpoint")
    def touchpoint_shown(self, obj):
        return "(anonymous)" if obj.survey.anonymous else obj.touchpoint

    @admin.display(description="segment")
    def segment_shown(self, obj):
        return "(anonymous)" if obj.survey.anonymous else obj.segment

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A past version carries the customer column too; an anonymous survey's are not shown.
        self._check_id(self.model._meta.pk, object_id)  # before filtering by it: "abc" was a 500
        if Response.objects.filter(Q(pk=object_id) & Q(survey__anonymous=True)).exists():
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class SuppressedAddressForm(forms.ModelForm):
    class Meta:
        model = SuppressedAddress
        fields = ["email", "kind", "detail", "created_at"]

    def clean_email(self):
        # Stored lower-cased: Bob@Example.com is bob@example.com, whose row the unique email holds.
        email = address_lowered(self.cleaned_data["email"])
        own = address_forms(self.instance.email) if self.instance.pk else []
        if email in own:
            return self.instance.email  # its own address, in another form: this entry still
        # jo@xn--bcher-kva.de is jo@bücher.de: any form listed is the address listed.
        listed = SuppressedAddress.objects.filter(email__in=address_forms(email)).exclude(email__in=own).first()
        if listed is not None:
            raise forms.ValidationError(
                f"{address_normalized(email)} is already suppressed ({listed.get_kind_display().lower()}): "
                "change that entry instead."
            )
        return email


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    """Admins may lift a suppression (an address fixed) or add one (a customer asked by phone).

    An address on an internationalised domain is listed in each of its forms, one row each (a
    provider's report names the punycode one); lifting either lifts both.
    """

    form = SuppressedAddressForm
    list_display = ["email", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["email__ifind"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            previous = form.initial.get("email") if change else None
            if previous and previous != obj.email:  # the old address is lifted, in all its forms
                SuppressedAddress.objects.filter(
                    email__in=SuppressedAddress.objects.suppression_of([previous])
                ).exclude(email__in=address_forms(obj.email)).delete()

    @transaction.atomic  # bulk actions run outside a transaction: the deletions' log entries too
    def response_action(self, request, queryset):
        return super().response_action(request, queryset)

    def delete_model(self, request, obj):
        SuppressedAddress.objects.filter(pk=obj.pk).delete_with_forms()

    def delete_queryset(self, request, queryset):
        queryset.delete_with_forms()
