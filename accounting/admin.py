"""Django admin of the accounting app (SPEC §1: admins edit reason categories and map "other").

The ledger, the import log and the emailed reason requests are records, not settings: the admin
shows them read-only to everybody, superusers included. Writes that have a service go through it.
"""

from decimal import Decimal

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.views.main import ChangeList
from django.contrib.messages import WARNING
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from cxplatform.history_admin import HistoryAdmin
from cxplatform.text import canonical_text
from cxplatform.token_pages import TextareaField

from .data_export import customer_export_logged
from .erasure import PERSONAL_FIELDS, customer_erase
from .imports.cells import non_negative_amount
from .imports.problems import CellError
from .models import (
    NOT_OWN_REFERRER,
    CostEntry,
    Customer,
    ImportBatch,
    ImportRowError,
    OtherReasonAnswer,
    ReasonCategory,
    ReasonRequest,
    RevenueEntry,
)
from .rollup_sql import refused_for_ledger_lines
from .services import (
    REASON_ANSWER_CHANGED,
    customer_clear_reason,
    customer_map_other_reason,
    customer_parent_error,
    customer_record_new_answer,
    customer_renamed,
    customers_lock_tree,
    customers_refresh_entities,
    other_answer_fingerprint,
    other_answer_lock,
    reason_assignment_error,
    reason_category_kind_error,
    reason_request_state,
    reason_text_error,
)

SURVEY_RECORDS = "survey invitations and their answers"
# An import can list up to 100,000 errors; its page shows the first ones and links to the rest.
INLINE_ERRORS_SHOWN = 200


class ReadOnlyAdminMixin:
    """Viewable by whoever has the view permission; added, changed or deleted by nobody."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeclaredFiltersChangeList(ChangeList):
    """A change list that refuses URL lookups its declared filters do not consume."""

    def get_filters(self, request):
        filters = super().get_filters(request)
        remaining = set(filters[2])  # what no declared filter took from the query string
        if self.date_hierarchy:
            remaining -= {f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"}
        if remaining:
            raise DisallowedModelAdminLookup(f"Filtering by {', '.join(sorted(remaining))} not allowed")
        return filters


class DeclaredFiltersOnlyMixin:
    """The list narrows by its own filters, its search and its date drill-down, nothing else.

    Django's admin otherwise takes a lookup on any of the model's own fields from the URL
    (?responded_at__isnull=0, ?response=7, ?responses=7), which would single out who answered an
    anonymous survey (SPEC §1: admins included).
    """

    def get_changelist(self, request, **kwargs):
        return DeclaredFiltersChangeList


def category_in_use(category: ReasonCategory) -> bool:
    return Customer.objects.filter(Q(reason=category) | Q(reason_mapped_to=category)).exists()


def mapping_categories():
    """What an "other" answer may be mapped onto: the active categories except "other"."""
    return ReasonCategory.objects.filter(is_active=True).exclude(slug=ReasonCategory.OTHER_SLUG)


# --- Reason categories ---------------------------------------------------------------------------


class ReasonCategoryAdminForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        # The slug is read-only (not in the form) for "other": the stored one then.
        slug = data.get("slug", self.instance.slug)
        error = reason_category_kind_error(slug=slug or "", kind=data.get("kind") or "")
        if "kind" in data and error is not None:
            self.add_error("kind", error)
        return data


@admin.register(ReasonCategory)
class ReasonCategoryAdmin(HistoryAdmin):
    """Only users with change_reasoncategory (the admin role) may edit; the history shows who
    changed what, when, from which value to which."""

    form = ReasonCategoryAdminForm
    list_display = ["label", "slug", "kind", "is_active", "order", "customer_count"]
    list_filter = ["kind", "is_active"]
    search_fields = ["label__ifind", "slug"]
    ordering = ["order", "label"]
    history_list_display = ["label", "kind", "is_active"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description="Customers", ordering="customer_count")
    def customer_count(self, obj):
        return obj.customer_count

    def slug_is_locked(self, obj) -> bool:
        # Code, CSV imports and past reports refer to categories by slug: once a category is in
        # use (or is "other"), renaming its slug would silently break them.
        return obj is not None and (obj.slug == ReasonCategory.OTHER_SLUG or category_in_use(obj))

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if self.slug_is_locked(obj) else []

    def get_prepopulated_fields(self, request, obj=None):
        return {} if self.slug_is_locked(obj) else {"slug": ("label",)}

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.slug == ReasonCategory.OTHER_SLUG:
            return False  # the "other" answers and their mapping depend on it
        return super().has_delete_permission(request, obj)


# --- Customers -----------------------------------------------------------------------------------


class ReasonTextField(TextareaField):
    """The reason text as the reason page takes it: line breaks counted once and stored as LF.

    A text saved with CRLF before (by the admin or the staff form), posted back as it is, is no
    change: it must not become a new answer and drop an admin's mapping.
    """

    def has_changed(self, initial, data):
        return super().has_changed(self.to_python(initial), data)


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "external_id", "name", "email", "language", "segment", "acquired_on", "reason",
            "reason_text", "referred_by", "acquisition_cost", "parent", "survey_opt_out",
        ]
        field_classes = {"reason_text": ReasonTextField}

    def clean_reason(self):
        reason = self.cleaned_data.get("reason")
        if reason is not None:
            error = reason_assignment_error(reason=reason, current_reason_id=self.instance.reason_id)
            if error is not None:
                raise forms.ValidationError(error)
        return reason

    def clean_reason_text(self):
        text = self.cleaned_data.get("reason_text", "")
        # Only a new text: one stored before the limit existed may stay as it is.
        error = reason_text_error(text) if "reason_text" in self.changed_data else None
        if error is not None:
            raise forms.ValidationError(error)
        return text

    def clean_acquisition_cost(self):
        # Read as the bulk endpoint, the CSV import and the API read it: Django's field took any
        # text Decimal() takes ("١٢٣", "+5", "1_000", "5e2", ".5") and kept "-0" as -0. In cents,
        # as the API has it: the audit log wrote the value sent ("12.5", "-0"), not "12.50".
        if self.cleaned_data.get("acquisition_cost") is None:
            return None
        try:
            cost = Decimal(non_negative_amount(str(self["acquisition_cost"].data).strip()))
        except CellError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cost.quantize(Decimal("0.01"))

    def clean_referred_by(self):
        referrer = self.cleaned_data.get("referred_by")
        if referrer is not None and referrer.pk == self.instance.pk:
            raise forms.ValidationError(NOT_OWN_REFERRER)
        return referrer

    def clean_parent(self):
        # Checked inside the admin's transaction, under the lock of entity moves, against the tree
        # as committed: of two edits at once (A under B, B under A) the second is refused.
        parent = self.cleaned_data.get("parent")
        if parent is not None and parent.pk != self.instance.parent_id:
            customers_lock_tree()
            error = customer_parent_error(customer_pk=self.instance.pk, parent=parent)
            if error is not None:
                raise forms.ValidationError(error)
        return parent

    def clean(self):
        data = super().clean()
        reason = data.get("reason")
        erased = self.instance.erased_at is not None  # its "other" kept without the text it cannot have
        if reason and reason.slug == ReasonCategory.OTHER_SLUG and not data.get("reason_text") and not erased:
            self.add_error("reason_text", "Please say what the other reason is.")
        if reason is None and data.get("reason_text"):
            self.add_error("reason_text", "Give the reason this text explains, or clear it.")
        return data


@admin.register(Customer)
class CustomerAdmin(DeclaredFiltersOnlyMixin, admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = [
        "external_id", "name", "email", "segment", "language", "acquired_on", "reason",
        "entity_link", "survey_opt_out",
    ]
    list_filter = ["segment", "reason", "reason__kind", "language", "survey_opt_out"]
    # Names and emails ignoring case and accents (cxplatform.text_search); the id as icontains has it.
    search_fields = ["external_id", "name__ifind", "email__ifind"]
    date_hierarchy = "acquired_on"
    list_select_related = ["reason", "entity"]

    def get_search_results(self, request, queryset, search_term):
        # An id pasted decomposed (NFD) finds the id stored in NFC (cxplatform.text); names and
        # emails are stored as sent, so the term as typed is searched too.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if (composed := canonical_text(search_term)) != search_term:
            more, more_duplicates = super().get_search_results(request, queryset, composed)
            return results | more, may_have_duplicates or more_duplicates
        return results, may_have_duplicates
    autocomplete_fields = ["referred_by", "parent"]
    readonly_fields = [
        "entity", "reason_mapped_to", "reason_source", "reason_answered_at", "erased_at", "created_at",
        "updated_at",
    ]
    actions = ["export_personal_data", "erase_personal_data"]
    fieldsets = [
        (None, {"fields": ["external_id", "name", "email", "language", "segment"]}),
        ("Acquisition", {"fields": [
            "acquired_on", "reason", "reason_text", "reason_mapped_to", "reason_source",
            "reason_answered_at", "referred_by", "acquisition_cost",
        ]}),
        ("Roll-up", {"fields": ["parent", "entity"]}),
        ("Surveys", {"fields": ["survey_opt_out"]}),
        ("Record", {"fields": ["erased_at", "created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # An erased customer's personal data is not typed in again (accounting.erasure).
        erased = list(PERSONAL_FIELDS) if obj is not None and obj.erased_at is not None else []
        return [*self.readonly_fields, *erased]

    def has_erase_permission(self, request):
        return request.user.has_perm("accounting.erase_customer")  # the admin role's only

    def has_export_permission(self, request):
        return request.user.has_perm("accounting.export_customer")  # the admin role's only

    @admin.action(description="Export personal data (JSON)", permissions=["export"])
    def export_personal_data(self, request, queryset):
        """Download everything held about the one selected customer (accounting.data_export), as
        customer-<external id>.json; the export is in the audit log (who, whose, when)."""
        customers = list(queryset[:2])
        if len(customers) != 1:
            self.message_user(request, "Select one customer to export their personal data.", WARNING)
            return None
        customer = customers[0]
        data = customer_export_logged(customer=customer, by=request.user)
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = content_disposition_header(True, f"customer-{customer.external_id}.json")
        return response

    @admin.action(description="Erase personal data…", permissions=["erase"])
    def erase_personal_data(self, request, queryset):
        """Erase the selected customers' personal data (accounting.erasure) once the confirmation
        page, drawn first, is posted back; as delete_selected, the action is a POST either way."""
        customers = list(queryset.order_by("external_id"))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data?",
                "opts": self.model._meta,
                "customers": customers,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "action": "erase_personal_data",
            }
            return TemplateResponse(request, "admin/accounting/customer/erase_confirmation.html", context)
        for customer in customers:
            customer_erase(customer=customer, by=request.user)
        self.message_user(request, f"Personal data erased of {len(customers)} customer(s).")
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name in self.autocomplete_fields:
            # Select2 names its combobox from the <select>'s title only, not from the field's
            # <label>: without one a screen reader met an unnamed box while nothing was chosen.
            field.widget.attrs["title"] = field.label
        return field

    @admin.display(description="Entity", ordering="entity__external_id")
    def entity_link(self, obj):
        if obj.entity_id is None or obj.entity_id == obj.pk:
            return "itself"
        return obj.entity.external_id

    def get_deleted_objects(self, objs, request):
        """A customer with survey records cannot be deleted (nobody deletes records); the page says
        so without naming responses apart from invitations, which would tell who answered."""
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        records = {apps.get_model("surveys", name)._meta.verbose_name for name in ("Invitation", "Response")}
        if perms_needed & records:
            perms_needed = (perms_needed - records) | {SURVEY_RECORDS}
        return to_delete, model_count, perms_needed, protected

    # A delete that waited for an import naming the customer is refused by the database once the
    # import commits its lines (rollup_sql.GUARD_INSTALL); one that waited for a launch or a trigger
    # inviting the customer (they lock the customer FOR KEY SHARE) by the invitation's foreign key.
    # The refused delete is rolled back, its log entry with it, and the page is drawn again: it now
    # lists the lines as PROTECT does, or refuses for the survey records.

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)  # in its own transaction
        except IntegrityError as error:
            if not _refused_for_records(error):
                raise
        return super().delete_view(request, object_id, extra_context)

    def response_action(self, request, queryset):
        try:
            with transaction.atomic():  # the bulk delete logs its entries before deleting
                return super().response_action(request, queryset)
        except IntegrityError as error:
            if not _refused_for_records(error):
                raise
        return super().response_action(request, queryset)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "external_id" in form.changed_data:
            customer_renamed(obj)
        # The form checked the answer (an active category, "other" with its text) and saved it.
        if obj.reason is not None and {"reason", "reason_text"} & set(form.changed_data):
            customer_record_new_answer(customer=obj, source="admin")
        elif obj.reason is None and "reason" in form.changed_data:
            customer_clear_reason(customer=obj)
        if not change or "parent" in form.changed_data:
            customers_refresh_entities()


def _refused_for_records(error: IntegrityError) -> bool:
    """A customer's delete refused at commit for records written meanwhile: ledger lines, or a
    survey record's foreign key (Django checks them at commit)."""
    if refused_for_ledger_lines(error):
        return True
    diag = getattr(error.__cause__, "diag", None)
    return diag is not None and diag.sqlstate == "23503" and (diag.constraint_name or "").startswith("surveys_")


class MappedFilter(admin.SimpleListFilter):
    title = "mapping"
    parameter_name = "mapped"

    def lookups(self, request, model_admin):
        return [("no", "Unmapped"), ("yes", "Mapped")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(reason_mapped_to__isnull=self.value() == "no")
        return queryset


class AnswerSeenField(forms.CharField):
    """Hidden: the fingerprint of the "other" text the page showed. What the admin read, not an
    edit: a row whose text changed since is not thereby a changed row to save."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data):
        return False


class OtherReasonMappingForm(forms.ModelForm):
    """The mapping select. Its choices are read once per page (`categories`), not once per row;
    a row already mapped to a since-deactivated category keeps it rather than losing it silently.

    The customer may answer again between the page and the save (which drops the mapping): a
    mapping is saved only for the text the page showed, else refused for the admin to read it.
    """

    categories: list[ReasonCategory] = []
    answer_seen = AnswerSeenField()

    class Meta:
        model = OtherReasonAnswer
        fields = ["reason_mapped_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reason_mapped_to"]
        current = self.instance.reason_mapped_to if self.instance.pk else None
        choices = list(self.categories)
        allowed = Q(pk__in=[c.pk for c in choices])
        if current is not None and current not in choices:
            choices.append(current)
            allowed |= Q(pk=current.pk)
        field.queryset = ReasonCategory.objects.filter(allowed)
        field.choices = [("", "—  unmapped  —")] + [(c.pk, c.label) for c in choices]
        if self.instance.pk:
            self.fields["answer_seen"].initial = other_answer_fingerprint(self.instance.reason_text)

    def clean(self):
        data = super().clean()
        if "reason_mapped_to" not in self.changed_data or not self.instance.pk:
            return data
        # Locked until the mapping is saved, in the same transaction (the admin's views run in one).
        stored = other_answer_lock(customer_pk=self.instance.pk)
        now_seen = other_answer_fingerprint(stored.reason_text) if stored is not None else ""
        if data.get("answer_seen") != now_seen:
            # The page comes back showing the answer as it is now: saved again, once read, it maps.
            self.data = self.data.copy()
            self.data[self.add_prefix("answer_seen")] = now_seen
            raise forms.ValidationError(REASON_ANSWER_CHANGED, code="changed")
        return data

    @classmethod
    def for_request(cls):
        return type(cls.__name__, (cls,), {"categories": list(mapping_categories())})


@admin.register(OtherReasonAnswer)
class OtherReasonAnswerAdmin(DeclaredFiltersOnlyMixin, admin.ModelAdmin):
    """Where admins map each "other" answer onto a category, straight from the list."""

    list_display = ["external_id", "name", "reason_text", "reason_answered_at", "reason_mapped_to"]
    list_display_links = ["external_id"]
    list_editable = ["reason_mapped_to"]
    list_filter = [MappedFilter, "reason_mapped_to", "segment"]
    search_fields = ["reason_text__ifind", "external_id", "name__ifind"]
    list_select_related = ["reason_mapped_to"]
    fields = ["external_id", "name", "reason_text", "reason_answered_at", "reason_mapped_to", "answer_seen"]
    readonly_fields = ["external_id", "name", "reason_text", "reason_answered_at"]

    def get_changelist_form(self, request, **kwargs):
        return OtherReasonMappingForm.for_request()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = OtherReasonMappingForm.for_request()
        return super().get_form(request, obj, change, **kwargs)

    def changelist_view(self, request, extra_context=None):
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        # As the change page: the forms' check of each answer and its save in one transaction.
        with transaction.atomic():
            return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        customer_map_other_reason(
            customer=obj, category=obj.reason_mapped_to, answer_seen=form.cleaned_data["answer_seen"]
        )

    def has_add_permission(self, request):
        return False  # the answers come from customers

    def has_delete_permission(self, request, obj=None):
        return False  # it would delete the customer


# --- Ledger --------------------------------------------------------------------------------------


class AmountSignFilter(admin.SimpleListFilter):
    title = "sign"
    parameter_name = "sign"

    def lookups(self, request, model_admin):
        return [("negative", "Refunds and credits"), ("positive", "Charges")]

    def queryset(self, request, queryset):
        if self.value() == "negative":
            return queryset.filter(amount__lt=0)
        if self.value() == "positive":
            return queryset.filter(amount__gte=0)
        return queryset


class LedgerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Ledger entries are immutable (a correction is a new entry): view only, for everybody."""

    date_hierarchy = "date"
    list_select_related = ["customer"]
    search_fields = ["external_ref", "customer__external_id", "customer__name__ifind"]
    raw_id_fields = ["customer"]
    # Counting a ledger of millions of rows twice per page is what makes admin lists slow.
    show_full_result_count = False
    # Newest recorded first, as the API lists the ledger: the primary key serves the first page,
    # where the model's (-date, -id) sorted the whole ledger (2 s a page at a million lines).
    # The date column still sorts on a click.
    ordering = ["-id"]

    @admin.display(description="Customer", ordering="customer__external_id")
    def customer_ref(self, obj):
        return obj.customer.external_id


@admin.register(RevenueEntry)
class RevenueEntryAdmin(LedgerAdmin):
    list_display = ["external_ref", "date", "customer_ref", "amount", "product", "created_at"]
    list_filter = [AmountSignFilter, "customer__segment", "product"]
    search_fields = LedgerAdmin.search_fields + ["product__ifind"]


@admin.register(CostEntry)
class CostEntryAdmin(LedgerAdmin):
    list_display = [
        "external_ref", "date", "customer_ref", "kind", "amount", "description",
        "created_at",
    ]
    list_filter = ["kind", AmountSignFilter, "customer__segment"]
    search_fields = LedgerAdmin.search_fields + ["description__ifind"]


# --- Imports -------------------------------------------------------------------------------------


class FirstRowsFormSet(forms.BaseInlineFormSet):
    def get_queryset(self):
        if not hasattr(self, "_first_rows"):
            self._first_rows = super().get_queryset()[:INLINE_ERRORS_SHOWN]
        return self._first_rows


class ImportRowErrorInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ImportRowError
    formset = FirstRowsFormSet
    fields = ["row", "column", "message"]
    readonly_fields = fields
    verbose_name_plural = f"errors (the first {INLINE_ERRORS_SHOWN})"
    extra = 0


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "kind", "source", "filename", "status", "rows_total", "rows_created",
        "rows_updated", "rows_skipped", "error_count", "created_by", "started_at",
    ]
    list_filter = ["kind", "source", "status"]
    search_fields = ["filename", "sha256", "message"]
    date_hierarchy = "started_at"
    list_select_related = ["created_by"]
    inlines = [ImportRowErrorInline]
    readonly_fields = ["all_errors", "duration"]
    fields = [
        "kind", "source", "filename", "sha256", "status", "rows_total", "rows_created",
        "rows_updated", "rows_skipped", "error_count", "all_errors", "message", "created_by",
        "started_at", "finished_at", "duration",
    ]

    @admin.display(description="All errors")
    def all_errors(self, obj):
        if not obj.error_count:
            return "none"
        url = reverse("admin:accounting_importrowerror_changelist")
        return format_html(
            '<a href="{}?batch__id__exact={}">all {} errors</a>', url, obj.pk, obj.error_count
        )


@admin.register(ImportRowError)
class ImportRowErrorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["batch", "row", "column", "message"]
    list_filter = ["batch__kind", "column"]
    search_fields = ["message", "column"]
    list_select_related = ["batch"]
    show_full_result_count = False


# --- Reason requests -----------------------------------------------------------------------------


class RequestStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("answered", "Answered"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "answered":
            return queryset.filter(answered_at__isnull=False)
        if self.value() == "open":
            return queryset.filter(answered_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(answered_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ReasonRequest)
class ReasonRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The token hash is never shown, not even read-only: nobody needs it, so no page holds it."""

    list_display = [
        "customer", "state", "created_at", "sent_at", "answered_at", "expires_at", "created_by",
    ]
    list_filter = [RequestStateFilter]
    search_fields = ["customer__external_id", "customer__name__ifind", "customer__email__ifind"]
    date_hierarchy = "created_at"
    list_select_related = ["customer", "created_by"]
    fields = [
        "customer", "state", "created_at", "sent_at", "answered_at", "expires_at", "created_by",
    ]
    readonly_fields = fields
    exclude = ["token_hash"]

    @admin.display(description="State")
    def state(self, obj):
        return reason_request_state(obj)
