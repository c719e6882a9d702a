"""Reads of the accounting staff UI; each selector does its own joins and annotations."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
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
        customers = customers.filter(
            Q(external_id__icontains=search) | Q(name__icontains=search) | Q(email__icontains=search)
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
    queryset = Customer.objects.select_related("reason", "reason_mapped_to", "parent", "entity", "referred_by")
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


def _yearly_sums(model, customer: Customer, label: str) -> QuerySet:
    return (
        model.objects.filter(customer=customer)
        .order_by()
        .annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(total=Sum("amount"), ledger=Value(label, output_field=CharField()))
        .values_list("year", "ledger", "total")
    )


def customer_ledger_by_year(customer: Customer) -> LedgerTotals:
    """Revenue and costs per calendar year, newest first, in one aggregate query (a UNION)."""
    rows = _yearly_sums(RevenueEntry, customer, "revenue").union(_yearly_sums(CostEntry, customer, "costs"), all=True)
    years: dict[int, LedgerYear] = {}
    for year, ledger, total in rows:
        entry = years.setdefault(year, LedgerYear(year=year))
        setattr(entry, ledger, Decimal(total or 0).quantize(ZERO))
    return LedgerTotals(years=sorted(years.values(), key=lambda y: y.year, reverse=True))


def customer_recent_revenue(customer: Customer, *, limit: int = 50) -> list[RevenueEntry]:
    return list(RevenueEntry.objects.filter(customer=customer).order_by("-date", "-id")[:limit])


def customer_reason_requests(customer: Customer, *, limit: int = 5) -> list[ReasonRequest]:
    requests = customer.reason_requests.select_related("created_by").order_by("-created_at")
    return list(requests[:limit])


def import_list() -> QuerySet:
    return ImportBatch.objects.select_related("created_by").order_by("-started_at", "-id")


def import_get(pk: int) -> ImportBatch:
    return get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)


def import_errors(batch: ImportBatch) -> QuerySet:
    return ImportRowError.objects.filter(batch=batch).order_by("row", "id")
