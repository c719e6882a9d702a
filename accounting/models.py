"""Customer-based accounting (SPEC §2): customers, acquisition reasons, the revenue ledger, costs."""


from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cxplatform.text import canonicalize_fields, validate_no_line_break


class ReasonKind(models.TextChoices):
    EARNED = "earned", "Earned"
    BOUGHT = "bought", "Bought"
    UNKNOWN = "unknown", "Unknown"


# SPEC §2: "other" answers are classed one by one, by mapping them onto another category.
OTHER_STAYS_UNKNOWN = "The 'other' category stays 'unknown': map its answers onto other categories instead."


class ReasonCategory(models.Model):
    """Why a customer chose the company; `kind` classes it earned, bought or unknown."""

    OTHER_SLUG = "other"

    label = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=10, choices=ReasonKind.choices)
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "label"]
        verbose_name_plural = "reason categories"
        constraints = [
            # The reports class a customer by it, and the cohort tables have a row per kind only.
            models.CheckConstraint(condition=Q(kind__in=ReasonKind.values), name="reason_category_kind"),
            models.CheckConstraint(
                condition=~Q(slug="other") | Q(kind=ReasonKind.UNKNOWN),  # OTHER_SLUG
                name="reason_category_other_unknown",
                violation_error_message=OTHER_STAYS_UNKNOWN,
            ),
        ]

    def __str__(self):
        return self.label

    def save(self, *args, **kwargs):
        stored = None if self._state.adding else (
            ReasonCategory.objects.filter(pk=self.pk).values_list("kind", flat=True).first()
        )
        super().save(*args, **kwargs)
        if stored is not None and stored != self.kind:
            # Its customers' reason_class changed without a write of their own: the API's
            # incremental pulls (`changed_after`) list them again.
            classed_by_it = Q(reason_mapped_to=self) | Q(reason=self, reason_mapped_to__isnull=True)
            Customer.objects.filter(classed_by_it).update(updated_at=timezone.now())


NOT_OWN_REFERRER = "A customer cannot refer itself."

# The longest reason text (an "other" answer in the customer's words) any door takes: the reason
# page, the staff form, the admin and the API (services.customer_set_reason checks it).
REASON_TEXT_MAX_LENGTH = 2000


class Customer(models.Model):
    """A customer; one with a parent rolls up to its top ancestor, the customer entity."""

    external_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en")
    # Both in NFC (cxplatform.text), whichever door they come in by; a segment is one line.
    segment = models.CharField(max_length=100, blank=True, db_index=True, validators=[validate_no_line_break])
    acquired_on = models.DateField(null=True, blank=True)
    reason = models.ForeignKey(
        ReasonCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    reason_text = models.TextField(blank=True, help_text="Free text, e.g. the 'other' answer.")
    # An admin's mapping of an "other" answer onto a real category; reports class by it.
    reason_mapped_to = models.ForeignKey(
        ReasonCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason_source = models.CharField(max_length=20, blank=True)
    reason_answered_at = models.DateTimeField(null=True, blank=True)
    # PROTECT: deleting a referrer would erase the referrer of every customer it brought, in one
    # unaudited UPDATE, and rewrite the referrals report; the admin names them instead.
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    acquisition_cost = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Top ancestor (itself when no parent), kept by services.customers_refresh_entities so that
    # every retention figure groups by one indexed column instead of walking the tree.
    entity = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    survey_opt_out = models.BooleanField(default=False)
    # When its personal data was erased on request (accounting.erasure): name, email and the
    # customer's own words are gone for good, and imports never bring them back.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_id"]
        permissions = [
            ("erase_customer", "Can erase a customer's personal data"),
            ("export_customer", "Can export a customer's personal data"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="customer_not_own_parent"
            ),
            # Imports, the API and ledger lines find a customer by it.
            models.CheckConstraint(
                condition=~Q(external_id=""), name="customer_external_id_not_blank",
                violation_error_message="A customer needs an external id.",
            ),
            models.CheckConstraint(
                condition=~Q(referred_by=models.F("id")), name="customer_not_own_referrer",
                violation_error_message=NOT_OWN_REFERRER,
            ),
            models.CheckConstraint(
                condition=Q(acquisition_cost__isnull=True) | Q(acquisition_cost__gte=0),
                name="customer_acquisition_cost_not_negative",
                violation_error_message="An acquisition cost cannot be negative.",
            ),
        ]
        # The members of a unit at entity grain: earned growth looks up a new entity's members
        # by COALESCE(entity_id, id) (see reports.earned_growth and bench/earned_growth.py).
        indexes = [
            models.Index(Coalesce("entity", "id"), name="customer_entity_or_self"),
            models.Index(fields=["updated_at", "id"], name="customer_updated"),  # the API's changed_after
        ]

    def __str__(self):
        return f"{self.name or self.external_id} ({self.external_id})"

    def save(self, *args, **kwargs):
        # A new row only: the doors put what they receive in NFC, and an existing id migration
        # accounting 0016 left decomposed (its NFC twin exists) must stay what it is stored as.
        if self._state.adding:
            canonicalize_fields(self, "external_id", "segment")
        super().save(*args, **kwargs)

    def clean(self):
        # After the fields' own checks, before the unique one: "Café-42" in NFD is the NFC one's id.
        # An id kept as stored is left so (migration accounting 0016 left a twin's decomposed).
        super().clean()
        canonicalize_fields(self, "segment")
        stored = None if self._state.adding else (
            Customer.objects.filter(pk=self.pk).values_list("external_id", flat=True).first()
        )
        if self.external_id != stored:
            canonicalize_fields(self, "external_id")

    @property
    def effective_reason(self):
        return self.reason_mapped_to or self.reason

    @property
    def reason_kind(self) -> str:
        reason = self.effective_reason
        if reason is None or (reason.slug == ReasonCategory.OTHER_SLUG and not self.reason_mapped_to):
            return ReasonKind.UNKNOWN
        return reason.kind


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("Ledger entries are immutable; record a correcting entry instead.")

    def delete(self):
        raise ValidationError("Ledger entries are immutable; record a correcting entry instead.")


class LedgerEntry(models.Model):
    # No database-level foreign key: PostgreSQL checks one with a trigger per inserted row, which
    # tripled the time of a million-line import. Every write path checks the customer exists (the
    # import validates it), and PROTECT keeps a customer with entries from being deleted.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    date = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    # Unique through a constraint, not unique=True, which adds a second (LIKE) index on PostgreSQL.
    external_ref = models.CharField(max_length=200)
    # No FK constraint: the import log may be pruned, the ledger never is.
    import_batch = models.ForeignKey(
        "ImportBatch", null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="+",
    )
    # A database default, so bulk loads (COPY) need not send it.
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-date", "-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Ledger entries are immutable; record a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are immutable; record a correcting entry instead.")


class RevenueEntry(LedgerEntry):
    """One line of revenue (negative for refunds and credits). Immutable."""

    product = models.CharField(max_length=200, blank=True)

    class Meta(LedgerEntry.Meta):
        verbose_name_plural = "revenue entries"
        # `amount` is included so that reports sum a customer's lines for a period from the index
        # alone (an index-only scan; PostgreSQL, elsewhere a plain index): see bench/earned_growth.py.
        indexes = [models.Index(fields=["customer", "date"], include=["amount"], name="revenue_customer_date")]
        constraints = [models.UniqueConstraint(fields=["external_ref"], name="revenue_external_ref")]

    def __str__(self):
        return f"{self.external_ref}: {self.amount} on {self.date}"


class RevenueQuarter(models.Model):
    """The ledger summed per entity and calendar quarter: what reports read for years and quarters.

    PostgreSQL keeps it with triggers (migration accounting 0007, SQL in `rollup_sql`): every
    insert into the ledger adds its lines here in the same statement, and a change of entities
    (`customers_refresh_entities`), a removed line or a truncated ledger rebuilds what it touched.
    So no write path can forget it and a rolled-back import rolls it back too. SQLite has no
    triggers for it and leaves it empty; the reports read the ledger there.

    `positive_lines` counts lines above 0, for "had revenue before" (reactivation). Never written
    by the application.
    """

    pk = models.CompositePrimaryKey("unit", "quarter")
    # The entity: COALESCE(customer.entity_id, customer.id) of the lines summed here.
    unit = models.ForeignKey(
        Customer, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    quarter = models.DateField(help_text="First day of the quarter.")
    # A ledger line holds up to 12 digits before the dot; a quarter sums any number of them.
    amount = models.DecimalField(max_digits=22, decimal_places=2)
    positive_lines = models.IntegerField()

    class Meta:
        ordering = ["unit", "quarter"]

    def __str__(self):
        return f"{self.unit_id} {self.quarter}: {self.amount}"


class CostKind(models.TextChoices):
    SERVE = "serve", "Cost to serve"
    ACQUISITION = "acquisition", "Acquisition cost"


class CostEntry(LedgerEntry):
    """Cost to serve or to acquire a customer, for per-customer profit. Immutable."""

    kind = models.CharField(max_length=20, choices=CostKind.choices, default=CostKind.SERVE)
    description = models.CharField(max_length=200, blank=True)

    class Meta(LedgerEntry.Meta):
        verbose_name_plural = "cost entries"
        indexes = [models.Index(fields=["customer", "date"], name="cost_customer_date")]
        constraints = [
            models.UniqueConstraint(fields=["external_ref"], name="cost_external_ref"),
            # The cohorts count every kind but "acquisition" as cost to serve.
            models.CheckConstraint(condition=Q(kind__in=CostKind.values), name="cost_kind"),
        ]

    def __str__(self):
        return f"{self.external_ref}: {self.amount} ({self.kind}) on {self.date}"


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    REVENUE = "revenue", "Revenue"
    COSTS = "costs", "Costs"
    RESPONSES = "responses", "Survey responses"  # historical answers from another tool (surveys.importing)


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class ImportBatch(models.Model):
    """One imported file (or API bulk request): what came in, and what became of it."""

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    source = models.CharField(max_length=20)  # ui, command, api
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(  # PROTECT: a record keeps its "who"; deactivate users instead
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "import"

    def __str__(self):
        return f"{self.get_kind_display()} import #{self.pk} ({self.status})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class ImportRowError(models.Model):
    """One problem found in an imported file, by row and column. Kept apart so every error fits."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField(null=True, blank=True)  # file line, header = 1
    column = models.CharField(max_length=100, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["row", "id"]
        db_table = "accounting_importerror"
        verbose_name = "import error"

    def __str__(self):
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, {self.column or '-'}: {self.message}"


class ReasonRequest(models.Model):
    """An emailed "why did you choose us?" link. Only the SHA-256 of its token is stored."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reason_requests")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(  # PROTECT: a record keeps its "who"; deactivate users instead
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Reason request to {self.customer} ({timezone.localdate(self.created_at)})"  # the company's day

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def last_day(self):
        """The last day the link works, in the company's time zone: what its email names."""
        last_moment = self.expires_at - timedelta(microseconds=1)
        return timezone.localdate(last_moment, timezone.get_default_timezone())




class OtherReasonAnswerManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(reason__slug=ReasonCategory.OTHER_SLUG)


class OtherReasonAnswer(Customer):
    """Customers who answered "other": the admin's worklist for mapping answers onto categories."""

    objects = OtherReasonAnswerManager()

    class Meta:
        proxy = True
        verbose_name = "'other' reason answer"
