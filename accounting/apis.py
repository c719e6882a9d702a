"""REST API of the accounting app (SPEC §7): customers, reason categories, the ledger, imports.

Views parse input, call one service or the import engine, and serialize. Bulk writes go through
the same import engine as the CSV upload and the commands, so a row is valid or not whichever
door it came in by, and a request with any bad row writes nothing.
"""

import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cxplatform.api_filters import DjangoFilterBackend, OrderingFilter
from cxplatform.api_parsers import JSONParser
from cxplatform.api_serializers import WritableFieldsOnlyMixin
from cxplatform.api_writes import UniqueWritesMixin
from cxplatform.text import canonical_text

from . import imports, services
from .erasure import PERSONAL_FIELDS, erased_refusal
from .filters import CostFilter, CustomerFilter, ImportBatchFilter, RevenueFilter
from .imports import cells
from .imports.problems import CellError
from .imports.source import cell_text
from .models import (
    NOT_OWN_REFERRER,
    REASON_TEXT_MAX_LENGTH,
    CostEntry,
    CostKind,
    Customer,
    ImportBatch,
    ImportRowError,
    ImportStatus,
    ReasonCategory,
    ReasonKind,
    RevenueEntry,
)

# The detail of an import lists this many errors; all of them are at /imports/{id}/errors/.
LISTED_ERRORS = 1000

# --- Schema helpers ------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CanonicalCharField(serializers.CharField):
    """A text identity (external id, segment, touchpoint) or a lookup of one, in NFC after DRF's
    trim, as every door stores it (cxplatform.text)."""

    def to_internal_value(self, data):
        return canonical_text(super().to_internal_value(data))


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's, reading the value as the bulk endpoint and the CSV import read a cell (surrounding
    spaces trimmed, so " P1 " finds P1 and a blank is no value; in NFC), and refusing a NUL
    character before the lookup: PostgreSQL cannot compare text holding one."""

    def run_validation(self, data=serializers.empty):
        # Before DRF's own, which reads "" as null.
        return super().run_validation(canonical_text(data.strip()) if isinstance(data, str) else data)

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class IsoDateField(serializers.DateField):
    """A date as the bulk endpoint and the CSV import take it: YYYY-MM-DD only, with their
    messages; DRF's would also take "2025-1-5", which they refuse."""

    def to_internal_value(self, value):
        text = value.strip() if isinstance(value, str) else ""
        if not text:  # not text (a number, a list) or blank: DRF's own message
            return super().to_internal_value(value)
        try:
            return dt.date.fromisoformat(cells.iso_date(text))
        except CellError as exc:
            raise serializers.ValidationError(str(exc)) from None


class AcquisitionCostField(serializers.DecimalField):
    """An acquisition cost as the bulk endpoint and the CSV import take the cell, with their
    messages: ASCII digits with a dot and at most 2 decimals, "-0" read as 0. DRF's read the text
    with Decimal(), which also took "١٢٣", "+5", "1_000", "5e2" and ".5", and answered "-0" as
    "-0.00". A JSON number is its digits sent, written out as the bulk endpoint writes it: 1e3 is
    1000, 12.345 is refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            return super().to_internal_value(data)  # DRF's own message
        if isinstance(data, str) and len(data) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")  # DRF's, before the message quotes the text
        try:
            return super().to_internal_value(cells.non_negative_amount(cell_text(data)))
        except CellError as exc:
            raise serializers.ValidationError(str(exc)) from None


class NullOnOutputSlugField(SlugRelatedField):
    """A slug that reads null when the object has none, but takes no null as input."""


class NullOnOutputSlugFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NullOnOutputSlugField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "nullable": True} if direction == "response" else schema


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: a list of messages per field."
)


# What UniqueWritesMixin answers when a unique value was taken at the same time and the data still validates.
UNIQUE_CONFLICT = OpenApiResponse(
    ErrorDetailSerializer,
    description="Another request wrote a value that must be unique at the same time: read the current data"
    " and try again.",
)
# The bulk endpoints' own refusals (cxplatform.api_views.exception_handler, their JSON-only parser).
TOO_LARGE = OpenApiResponse(
    ErrorDetailSerializer,
    description="The body is over DATA_UPLOAD_MAX_MEMORY_SIZE, or holds more than 200,000 records;"
    " nothing was written: split the batch.",
)
# What 20 MB (DATA_UPLOAD_MAX_MEMORY_SIZE's default) holds of real ledger lines. The body limit
# alone let through ~7 M empty records (`[{},{},…]`), each shaped and checked: 2.3 GB and two
# minutes of a web worker for one request. Counted once the JSON is parsed, before any check.
BULK_MAX_RECORDS = 200_000
NOT_JSON = OpenApiResponse(ErrorDetailSerializer, description="The body is not application/json.")


def documented(ok: dict, *, bad_request=VALIDATION_ERROR) -> dict:
    """The success responses plus the error responses every endpoint can give."""
    return {
        **ok,
        400: bad_request,
        401: OpenApiResponse(ErrorDetailSerializer, description="No or invalid credentials."),
        403: OpenApiResponse(ErrorDetailSerializer, description="The user's role lacks access."),
        404: OpenApiResponse(ErrorDetailSerializer, description="No such object or page."),
    }


# --- Permissions and shared view behaviour -------------------------------------------------------


class CanImport(permissions.BasePermission):
    """A bulk import writes rows and records an ImportBatch: it takes every listed permission."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(view.import_permissions))


class MethodsBeforeRolesMixin:
    """Answer 405 to a method the endpoint lacks before checking roles.

    The ledger is immutable for everyone, so PATCH on a revenue line is "not allowed" whatever the
    role, rather than a 403 hinting that some other role could do it. Anonymous users still get 401.
    """

    required_permission = None  # set per action for actions without a model permission of their own
    import_permissions: tuple[str, ...] = ()

    def check_permissions(self, request):
        method = request.method.lower()
        unsupported = method not in self.http_method_names or getattr(self, method, None) is None
        if unsupported and request.user and request.user.is_authenticated:
            self.http_method_not_allowed(request)
        super().check_permissions(request)

    def get_object(self):
        # A NUL in the URL (`/reason-categories/%00/`) is no object; PostgreSQL would fail on it.
        if "\x00" in str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")):
            raise Http404
        return super().get_object()


@contextmanager
def django_errors_as_400():
    """A service's ValidationError becomes DRF's 400, after the transaction inside rolled back."""
    try:
        yield
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc


# --- Imports -------------------------------------------------------------------------------------


class ImportBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Null for a command's import."
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id", "kind", "source", "filename", "status", "rows_total", "rows_created",
            "rows_updated", "rows_skipped", "error_count", "message", "created_by",
            "started_at", "finished_at",
        ]
        read_only_fields = fields


class ImportRowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["row", "column", "message"]
        read_only_fields = fields


class ImportBatchDetailSerializer(ImportBatchSerializer):
    errors = serializers.SerializerMethodField(
        help_text=f"The first {LISTED_ERRORS} errors; error_count says how many there are."
    )

    class Meta(ImportBatchSerializer.Meta):
        fields = [*ImportBatchSerializer.Meta.fields, "errors"]
        read_only_fields = fields

    @extend_schema_field(ImportRowErrorSerializer(many=True))
    def get_errors(self, batch):
        return ImportRowErrorSerializer(batch.errors.all()[:LISTED_ERRORS], many=True).data


IMPORT_REJECTED = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="ImportRejection",
        serializers=[ImportBatchDetailSerializer, ErrorDetailSerializer],
        resource_type_field_name=None,
    ),
    description="Rejected: `errors` lists each bad row (the Nth object is row N) and column;"
    " nothing was written. A body that is not JSON gets a `detail` instead.",
)


IMPORT_FAILED = OpenApiResponse(
    ImportBatchDetailSerializer,
    description="The import failed on the server's side (see `message`); nothing was written.",
)


def import_records(kind: str, request) -> Response:
    """Run a bulk import of the request's JSON (a list of objects, or one object)."""
    records = [request.data] if isinstance(request.data, dict) else request.data
    if isinstance(records, list) and len(records) > BULK_MAX_RECORDS:
        detail = (
            f"The request holds {len(records):,} records, more than the limit of {BULK_MAX_RECORDS:,} a bulk"
            " request may hold; nothing was written. Split the batch into smaller requests."
        )
        return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    batch = imports.import_records(kind=kind, records=records, source="api", user=request.user)
    if batch.status == ImportStatus.SUCCEEDED:
        return Response(ImportBatchSerializer(batch).data, status=status.HTTP_201_CREATED)
    code = status.HTTP_400_BAD_REQUEST
    if batch.status == ImportStatus.FAILED:  # not the client's fault: say so
        code = status.HTTP_500_INTERNAL_SERVER_ERROR
    return Response(ImportBatchDetailSerializer(batch).data, status=code)


def import_responses() -> dict:
    return documented(
        {201: ImportBatchSerializer, 413: TOO_LARGE, 415: NOT_JSON, 500: IMPORT_FAILED},
        bad_request=IMPORT_REJECTED,
    )


@extend_schema_view(
    list=extend_schema(summary="List imports", responses=documented({200: ImportBatchSerializer})),
    retrieve=extend_schema(
        summary="An import with its first errors",
        responses=documented({200: ImportBatchDetailSerializer}),
    ),
    errors=extend_schema(
        summary="Every error of an import, paginated",
        responses=documented({200: ImportRowErrorSerializer(many=True)}),
    ),
)
class ImportBatchViewSet(MethodsBeforeRolesMixin, viewsets.ReadOnlyModelViewSet):
    """Imports (CSV upload, command, API bulk) and what became of them. Read-only."""

    queryset = ImportBatch.objects.select_related("created_by")
    serializer_class = ImportBatchSerializer
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = ImportBatchFilter
    ordering_fields = ["started_at", "id"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ImportBatchDetailSerializer
        return super().get_serializer_class()

    @action(detail=True, filter_backends=[], serializer_class=ImportRowErrorSerializer)
    def errors(self, request, pk=None):
        batch = self.get_object()
        page = self.paginate_queryset(batch.errors.all())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- Reason categories ---------------------------------------------------------------------------


class ReasonCategorySerializer(WritableFieldsOnlyMixin, serializers.ModelSerializer):
    class Meta:
        model = ReasonCategory
        fields = ["id", "slug", "label", "kind", "is_active", "order"]

    def validate_slug(self, value):
        # Imports, reports and the "other" rule refer to categories by slug.
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("The slug of a category cannot change.")
        return value

    def validate(self, data):
        if "kind" in data:
            slug = self.instance.slug if self.instance is not None else data.get("slug", "")
            error = services.reason_category_kind_error(slug=slug, kind=data["kind"])
            if error is not None:
                raise serializers.ValidationError({"kind": error})
        return data


def _category_schema(summary: str, code: int = 200, *, write: bool = False):
    ok = {code: ReasonCategorySerializer, 409: UNIQUE_CONFLICT} if write else {code: ReasonCategorySerializer}
    return extend_schema(summary=summary, responses=documented(ok))


@extend_schema_view(
    list=_category_schema("List reason categories"),
    retrieve=_category_schema("A reason category"),
    create=_category_schema("Add a reason category (admins)", 201, write=True),
    update=_category_schema("Replace a reason category (admins)", write=True),
    partial_update=_category_schema("Edit a reason category (admins)", write=True),
)
class ReasonCategoryViewSet(
    MethodsBeforeRolesMixin,
    UniqueWritesMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Acquisition-reason categories. Deactivate one rather than delete it: customers keep it."""

    # The id last: categories sharing an order and a label would repeat or vanish between pages.
    queryset = ReasonCategory.objects.order_by("order", "label", "id")
    serializer_class = ReasonCategorySerializer
    lookup_field = "slug"
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["kind", "is_active"]


# --- Customers -----------------------------------------------------------------------------------


class CustomerSerializer(WritableFieldsOnlyMixin, serializers.ModelSerializer):
    reason = NullOnOutputSlugField(
        slug_field="slug",
        queryset=ReasonCategory.objects.all(),
        required=False,
        help_text="Slug of an active acquisition reason category ('other' needs reason_text); a"
        " customer's own, since deactivated category may be sent back unchanged; reads null when unknown.",
    )
    reason_mapped_to = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="An admin's mapping of an 'other' answer."
    )
    reason_class = serializers.ChoiceField(
        source="reason_kind", choices=ReasonKind.choices, read_only=True
    )
    referred_by = SlugRelatedField(
        slug_field="external_id", queryset=Customer.objects.all(), required=False, allow_null=True
    )
    parent = SlugRelatedField(
        slug_field="external_id", queryset=Customer.objects.all(), required=False, allow_null=True
    )
    acquired_on = IsoDateField(required=False, allow_null=True)
    acquisition_cost = AcquisitionCostField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    entity = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True, help_text="The top ancestor: the unit of reports."
    )

    class Meta:
        model = Customer
        fields = [
            "id", "external_id", "name", "email", "language", "segment", "acquired_on",
            "reason", "reason_text", "reason_mapped_to", "reason_class", "reason_source",
            "reason_answered_at", "referred_by", "parent", "entity", "acquisition_cost",
            "survey_opt_out", "erased_at", "created_at", "updated_at",
        ]
        read_only_fields = ["reason_source", "reason_answered_at", "erased_at", "created_at", "updated_at"]
        extra_kwargs = {
            # Checked by the service that records the answer, which takes a stored text sent back as it is.
            "reason_text": {
                "help_text": f"Free text, e.g. the 'other' answer; at most {REASON_TEXT_MAX_LENGTH} characters.",
            },
            "updated_at": {
                "help_text": "When a value shown here last changed, its own or one read from another row (the"
                " external id of its parent, referrer or entity; its category's kind).",
            },
        }

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name in ("external_id", "segment"):  # NFC before the unique check and the write
            field_class = CanonicalCharField
        return field_class, kwargs

    def validate_parent(self, parent):
        # A first answer, with the other fields' errors; the write checks again under the lock.
        error = self._parent_error(parent)
        if error is not None:
            raise serializers.ValidationError(error)
        return parent

    def _parent_error(self, parent):
        return services.customer_parent_error(customer_pk=getattr(self.instance, "pk", None), parent=parent)

    def validate_reason(self, reason):
        current = self.instance.reason_id if self.instance is not None else None
        error = services.reason_assignment_error(reason=reason, current_reason_id=current)
        if error is not None:
            raise serializers.ValidationError(error)
        return reason

    def validate(self, data):
        # A text explains a reason: without one (sent or stored) it is refused, on create as on
        # PATCH, as the bulk import and the admin refuse it.
        reason = data.get("reason") or getattr(self.instance, "reason", None)
        if reason is None and data.get("reason_text", "").strip():
            raise serializers.ValidationError({"reason_text": "Give the reason this text explains."})
        # An erased customer's personal data is not typed in again (accounting.erasure); blanks,
        # what a client read, are accepted, and its other fields stay editable.
        erased = erased_refusal(self.instance) if self.instance is not None else None
        if erased is not None:
            refused = {field: [erased] for field in PERSONAL_FIELDS if str(data.get(field) or "").strip()}
            if refused:
                raise serializers.ValidationError(refused)
        return data

    def validate_referred_by(self, referrer):
        if referrer is not None and self.instance is not None and referrer.pk == self.instance.pk:
            raise serializers.ValidationError(NOT_OWN_REFERRER)
        return referrer

    def create(self, validated_data):
        reason = validated_data.pop("reason", None)
        parent = validated_data.get("parent")
        if parent is not None:
            # The parent's entity as committed, and no move of it until this customer is in.
            self._lock_tree_and_check(parent)
            parent.refresh_from_db(fields=["entity"])
        customer = super().create(validated_data)
        customer.entity = (parent.entity or parent) if parent else customer
        customer.save(update_fields=["entity"])
        if reason is not None:
            self._set_reason(customer, reason, customer.reason_text)
        return customer

    def update(self, instance, validated_data):
        reason = validated_data.pop("reason", None)
        if reason is None and "reason_text" in validated_data:
            # The text alone: a new answer to the same reason (an admin's mapping was of the old text).
            reason = instance.reason
        # None when no text was sent: the reason the customer has, echoed, changes nothing.
        text = validated_data.pop("reason_text", None)
        moved = "parent" in validated_data and validated_data["parent"] != instance.parent
        renamed = validated_data.get("external_id", instance.external_id) != instance.external_id
        if moved:
            self._lock_tree_and_check(validated_data["parent"])
        customer = super().update(instance, validated_data)
        if renamed:
            services.customer_renamed(customer)
        if reason is not None:
            self._set_reason(customer, reason, text)
        if moved:
            services.customers_refresh_entities()
            customer.refresh_from_db(fields=["entity"])
        elif customer.entity_id == customer.pk:
            # Its own entity: the copy loaded with it still has the external_id from before a rename.
            customer.entity = customer
        return customer

    def _lock_tree_and_check(self, parent):
        """Check the parent again inside the write's transaction, under the lock of entity moves:
        of two edits at once (A under B, B under A) the second sees the first's and is refused."""
        services.customers_lock_tree()
        error = self._parent_error(parent)
        if error is not None:
            raise serializers.ValidationError({"parent": [error]})

    @staticmethod
    def _set_reason(customer, reason, text):
        services.customer_set_reason(customer=customer, reason=reason, text=text, source="api")


class CustomerReasonSerializer(WritableFieldsOnlyMixin, serializers.Serializer):
    # Any category is found, so that an inactive one gets the service's own 400 naming `reason`.
    reason = SlugRelatedField(
        slug_field="slug", queryset=ReasonCategory.objects.all(),
        help_text="Slug of an active category; the customer's current one is also accepted.",
    )
    reason_text = serializers.CharField(
        required=False, allow_blank=True,
        help_text=f"The customer's words ('other' needs them), at most {REASON_TEXT_MAX_LENGTH} characters."
        " Left out with the reason the customer has, nothing changes; with another reason, the new answer"
        " has no text.",
    )


class CustomerRowSerializer(serializers.Serializer):
    """One customer of a bulk import: the columns of the customer CSV (SPEC §7)."""

    external_id = serializers.CharField(max_length=100)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    acquired_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Category slug.")
    reason_text = serializers.CharField(required=False, allow_blank=True)
    referred_by = serializers.CharField(required=False, allow_blank=True, help_text="External id.")
    parent = serializers.CharField(required=False, allow_blank=True, help_text="External id.")
    segment = serializers.CharField(required=False, allow_blank=True, max_length=100)
    acquisition_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    language = serializers.CharField(required=False, allow_blank=True, help_text="e.g. en")


@extend_schema_view(
    list=extend_schema(summary="List customers", responses=documented({200: CustomerSerializer})),
    retrieve=extend_schema(summary="A customer", responses=documented({200: CustomerSerializer})),
    create=extend_schema(
        summary="Add a customer", responses=documented({201: CustomerSerializer, 409: UNIQUE_CONFLICT})
    ),
    partial_update=extend_schema(
        summary="Edit a customer", responses=documented({200: CustomerSerializer, 409: UNIQUE_CONFLICT})
    ),
)
class CustomerViewSet(
    MethodsBeforeRolesMixin,
    UniqueWritesMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Customers; `bulk` creates or updates many through the import engine. No delete."""

    queryset = Customer.objects.select_related(
        "reason", "reason_mapped_to", "referred_by", "parent", "entity"
    )
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    # Names and emails ignoring case and accents (cxplatform.text_search); the id as icontains has it.
    search_fields = ["external_id", "name__ifind", "email__ifind"]
    ordering_fields = ["external_id", "name", "segment", "acquired_on", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    import_permissions = (
        "accounting.add_customer", "accounting.change_customer", "accounting.add_importbatch",
    )

    def perform_create(self, serializer):
        with django_errors_as_400():  # save_unique saves in its own transaction
            self.save_unique(serializer)

    def perform_update(self, serializer):
        with django_errors_as_400():
            self.save_unique(serializer)

    @extend_schema(
        summary="Create or update many customers",
        description="A JSON list of objects keyed by the customer CSV columns; a row whose"
        " external_id exists updates that customer. Any bad row rejects the whole request.",
        request=CustomerRowSerializer(many=True),
        responses=import_responses(),
    )
    @action(
        detail=False, methods=["post"], parser_classes=[JSONParser], permission_classes=[CanImport]
    )
    def bulk(self, request):
        return import_records("customers", request)

    @extend_schema(
        summary="Record a customer's acquisition reason",
        request=CustomerReasonSerializer,
        responses=documented({200: CustomerSerializer}),
    )
    @action(
        detail=True, methods=["post"], serializer_class=CustomerReasonSerializer,
        required_permission="accounting.change_customer",
    )
    def reason(self, request, pk=None):
        customer = self.get_object()
        answer = self.get_serializer(data=request.data)
        answer.is_valid(raise_exception=True)
        reason, text = answer.validated_data["reason"], answer.validated_data.get("reason_text")
        with django_errors_as_400():
            # No text sent (None) and the reason the customer has: an echo, nothing changes.
            services.customer_set_reason(customer=customer, reason=reason, text=text, source="api")
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)


# --- The ledger: revenue and costs ---------------------------------------------------------------


class RevenueEntrySerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = RevenueEntry
        fields = [
            "id", "customer", "date", "amount", "product", "external_ref", "import_batch",
            "created_at",
        ]
        read_only_fields = fields


class CostEntrySerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="external_id", read_only=True)

    class Meta:
        model = CostEntry
        fields = [
            "id", "customer", "date", "amount", "kind", "description", "external_ref",
            "import_batch", "created_at",
        ]
        read_only_fields = fields


class LedgerRowSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text="External id of the customer.")
    date = serializers.DateField()
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Negative for refunds and credits."
    )
    external_ref = serializers.CharField(
        max_length=200, help_text="Unique per line: a line already imported is skipped."
    )


class RevenueRowSerializer(LedgerRowSerializer):
    """One revenue line of a bulk import: the columns of the revenue CSV (SPEC §7)."""

    product = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CostRowSerializer(LedgerRowSerializer):
    """One cost line of a bulk import."""

    kind = serializers.ChoiceField(choices=CostKind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)


class LedgerViewSet(MethodsBeforeRolesMixin, viewsets.ReadOnlyModelViewSet):
    """An immutable ledger: read it, or add lines in bulk; a correction is a new line."""

    import_kind: str
    parser_classes = [JSONParser]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["date", "amount", "id"]
    # Newest recorded first, read from the primary key: the models' (-date, -id) has no index (each
    # index would slow the import) and sorted the whole ledger for every first page.
    ordering = ["-id"]

    def get_permissions(self):
        return [CanImport()] if self.action == "create" else super().get_permissions()

    def create(self, request):
        return import_records(self.import_kind, request)


def ledger_schema(entry, row, what: str):
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {what}",
            description="Newest recorded first (by id) unless `ordering=` says otherwise, e.g."
            " `ordering=-date` for the latest dates first.",
            responses=documented({200: entry}),
        ),
        retrieve=extend_schema(summary=f"A {what} line", responses=documented({200: entry})),
        create=extend_schema(
            summary=f"Add {what} lines in bulk",
            description="A JSON list of lines (or a single line). Any bad line rejects the whole"
            " request; a line whose external_ref is already in the ledger is skipped.",
            request=row(many=True),
            responses=import_responses(),
        ),
    )


@ledger_schema(RevenueEntrySerializer, RevenueRowSerializer, "revenue")
class RevenueViewSet(LedgerViewSet):
    queryset = RevenueEntry.objects.select_related("customer")
    serializer_class = RevenueEntrySerializer
    filterset_class = RevenueFilter
    import_kind = "revenue"
    import_permissions = ("accounting.add_revenueentry", "accounting.add_importbatch")


@ledger_schema(CostEntrySerializer, CostRowSerializer, "cost")
class CostViewSet(LedgerViewSet):
    queryset = CostEntry.objects.select_related("customer")
    serializer_class = CostEntrySerializer
    filterset_class = CostFilter
    import_kind = "costs"
    import_permissions = ("accounting.add_costentry", "accounting.add_importbatch")
