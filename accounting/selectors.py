"""Reads of the accounting staff UI; each selector does its own joins and annotations."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractYear
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cxplatform.text import canonical_text

from .models import (
    CostEntry,
    Customer,
    ImportBatch,
    ImportRowError,
    ReasonCategory,
    ReasonKind,
    ReasonRequest,
    RevenueEntry,
)

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=14, decimal_places=2)
RELATED_LIMIT = 100  # children or referrals shown on a customer page

# Customer.reason_kind in SQL, so that the list can filter on it: the mapped category wins; no
# reason, or an "other" answer nobody has mapped yet, is unknown.
REASON_CLASS = Case(
    When(reason_mapped_to__isnull=False, then=F("reason_mapped_to__kind")),
    When(
        Q(reason__isnull=True) | Q(reason__slug=ReasonCategory.OTHER_SLUG),
        then=Value(ReasonKind.UNKNOWN.value),
    ),
    default=F("reason__kind"),
    output_field=CharField(),
)


def _total_revenue() -> Coalesce:
    """Each customer's revenue as a correlated subquery: no GROUP BY over the joined columns."""
    total = (
        RevenueEntry.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=MONEY), Value(ZERO), output_field=MONEY)


def customer_list(*, search: str = "", segment: str = "", reason_class: str = "") -> QuerySet:
    """Customers for the list page, with reason class and total revenue in the same query."""
    customers = Customer.objects.select_related("reason", "reason_mapped_to", "entity").annotate(
        reason_class=REASON_CLASS, total_revenue=_total_revenue()
    )
    if search:
        # Ids are stored in NFC (cxplatform.text); names and emails as they were sent.
        customers = customers.filter(
            Q(external_id__ifind=canonical_text(search)) | Q(name__ifind=search) | Q(email__ifind=search)
        )
    if segment:
        customers = customers.filter(segment=segment)
    if reason_class:
        customers = customers.filter(reason_class=reason_class)
    return customers.order_by("external_id")


def customer_segments() -> list[str]:
    return list(Customer.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct())


def customer_segment_exists(segment: str) -> bool:
    """A segment typed into a command or an API call must be some customer's: a typo ("smb" for
    "SMB") would otherwise launch to nobody or read as a real, empty report."""
    return Customer.objects.filter(segment=segment).exists()


def unknown_segment_message(segment: str) -> str:
    return f"No customer is in segment {segment!r} (segments match exactly, case included)."


def customer_get(pk: int) -> Customer:
    """The customer page's customer with everything it shows about it; 404 when unknown."""
    # The entity's answer too: a member's revenue counts in reports under its entity's class.
    queryset = Customer.objects.select_related(
        "reason", "reason_mapped_to", "parent", "entity__reason", "entity__reason_mapped_to", "referred_by"
    )
    return get_object_or_404(queryset, pk=pk)


def customer_children(customer: Customer, *, limit: int = RELATED_LIMIT) -> list[Customer]:
    """Direct children, with their revenue; one more than `limit` tells the page there are more."""
    children = customer.children.annotate(total_revenue=_total_revenue()).order_by("external_id")
    return list(children[: limit + 1])


def customer_referrals(customer: Customer, *, limit: int = RELATED_LIMIT) -> list[Customer]:
    """Customers this one referred, with their revenue (one more than `limit`, as above)."""
    referrals = customer.referrals.annotate(total_revenue=_total_revenue()).order_by("external_id")
    return list(referrals[: limit + 1])


@dataclass
class LedgerYear:
    year: int
    revenue: Decimal = ZERO
    costs: Decimal = ZERO
    revenue_lines: int = 0
    costs_lines: int = 0

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.costs


@dataclass
class LedgerTotals:
    years: list[LedgerYear] = field(default_factory=list)

    @property
    def revenue(self) -> Decimal:
        return sum((y.revenue for y in self.years), ZERO)

    @property
    def costs(self) -> Decimal:
        return sum((y.costs for y in self.years), ZERO)

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.costs

    @property
    def revenue_lines(self) -> int:
        return sum(y.revenue_lines for y in self.years)


def _yearly_sums(model, label: str, **lines) -> QuerySet:
    return (
        model.objects.filter(**lines)
        .order_by()
        .annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(total=Sum("amount"), count=Count("id"), ledger=Value(label, output_field=CharField()))
        .values_list("year", "ledger", "total", "count")
    )


def _ledger_by_year(**lines) -> LedgerTotals:
    """Revenue and costs per calendar year of the `lines`, newest first, in one query (a UNION).

    The number of lines comes with the sums: the scan reads them anyway.
    """
    rows = _yearly_sums(RevenueEntry, "revenue", **lines).union(_yearly_sums(CostEntry, "costs", **lines), all=True)
    years: dict[int, LedgerYear] = {}
    for year, ledger, total, count in rows:
        entry = years.setdefault(year, LedgerYear(year=year))
        setattr(entry, ledger, Decimal(total or 0).quantize(ZERO))
        setattr(entry, f"{ledger}_lines", count)
    return LedgerTotals(years=sorted(years.values(), key=lambda y: y.year, reverse=True))


def customer_ledger_by_year(customer: Customer) -> LedgerTotals:
    """The customer's own lines per year."""
    return _ledger_by_year(customer=customer)


def customer_is_entity_with_members(customer: Customer, children: list[Customer]) -> bool:
    """A top ancestor with children: its page adds the ledger the reports read for it.

    Decided from what the page loaded already: the members of an entity are its whole tree, so it
    has some exactly when it has children.
    """
    return customer.entity_id == customer.pk and bool(children)


def entity_ledger_by_year(entity: Customer) -> LedgerTotals:
    """Every member's lines per year (the entity's own included): the unit of the reports."""
    return _ledger_by_year(customer__entity=entity)


def customer_recent_revenue(customer: Customer, *, limit: int = 50) -> list[RevenueEntry]:
    return list(RevenueEntry.objects.filter(customer=customer).order_by("-date", "-id")[:limit])


def customer_reason_requests(customer: Customer, *, limit: int = 5) -> list[ReasonRequest]:
    requests = customer.reason_requests.select_related("created_by").order_by("-created_at", "-id")
    return list(requests[:limit])


def _local_date(moment):
    return timezone.localdate(moment, timezone.get_default_timezone()).isoformat()


def reason_request_status(latest: ReasonRequest | None) -> str:
    """What the page says in place of a reason not given yet, from the latest request (if any)."""
    if latest is None:
        return "not asked yet"
    if latest.answered_at is not None:
        return f"none recorded — the link was answered on {_local_date(latest.answered_at)}"
    if latest.is_expired:
        return f"no answer — link expired on {_local_date(latest.expires_at)}"
    works_until = latest.last_day.isoformat()
    if latest.sent_at is None:
        # The daily run sends it again (README, Acquisition reason capture).
        made_on = _local_date(latest.created_at)
        return f"no answer yet — link made on {made_on}, not emailed yet, works until {works_until}"
    return f"no answer yet — asked on {_local_date(latest.sent_at)}, link works until {works_until}"


def import_list() -> QuerySet:
    return ImportBatch.objects.select_related("created_by").order_by("-started_at", "-id")


def import_get(pk: int) -> ImportBatch:
    return get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)


def import_errors(batch: ImportBatch) -> QuerySet:
    return ImportRowError.objects.filter(batch=batch).order_by("row", "id")
