"""Referrals (SPEC §3 "Also"; issue 3, item 5): the customers each referrer brought in, and their revenue.

A referral links two customers (`Customer.referred_by`), so this report is at customer grain. Each
figure is a correlated subquery on the referrer: joining both the referred customers and their
revenue lines would multiply the count by the lines and the revenue by the customers. Revenue is
summed in integer cents (exact on SQLite too) and turned into Decimal when the rows are read.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import BigIntegerField, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounting.models import Customer, RevenueEntry

from .cohorts import cents, money_from_cents
from .periods import Period

CHART_LIMIT = 20


@dataclass(frozen=True)
class Referrer:
    id: int
    external_id: str
    name: str
    referred: int  # customers this one brought in
    revenue: Decimal  # their revenue, all time
    period_revenue: Decimal | None  # their revenue in the chosen period, if any

    @property
    def label(self) -> str:
        return f"{self.name} ({self.external_id})" if self.name else self.external_id

    @property
    def ranked_revenue(self) -> Decimal:
        return self.revenue if self.period_revenue is None else self.period_revenue


@dataclass(frozen=True)
class ReferralTotals:
    referrers: int
    referred: int
    revenue: Decimal
    period_revenue: Decimal | None


def _referred_revenue(period: Period | None = None) -> Coalesce:
    lines = RevenueEntry.objects.filter(customer__referred_by=OuterRef("pk"))
    if period is not None:
        lines = lines.filter(date__range=(period.start, period.end))
    total = lines.order_by().values("customer__referred_by").annotate(total=Sum(cents("amount"))).values("total")
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0, output_field=BigIntegerField())


def referrer_list(*, period: Period | None = None) -> QuerySet:
    """Every customer who referred someone, best revenue first (in the period when one is given)."""
    referred = Customer.objects.filter(referred_by=OuterRef("pk")).order_by()
    count = referred.values("referred_by").annotate(n=Count("pk")).values("n")
    referrers = Customer.objects.filter(Exists(referred)).annotate(
        referred=Subquery(count, output_field=IntegerField()),
        revenue_cents=_referred_revenue(),
    )
    rank = "revenue_cents"
    if period is not None:
        referrers = referrers.annotate(period_cents=_referred_revenue(period))
        rank = "period_cents"
    fields = ["id", "external_id", "name", "referred", "revenue_cents"] + (["period_cents"] if period else [])
    return referrers.order_by(f"-{rank}", "-referred", "external_id").values(*fields)


def referrer_rows(values: Iterable[dict]) -> Iterator[Referrer]:
    """One `Referrer` per row as it is read: the CSV streams from the database cursor, never
    holding every referrer at once (the page, which needs its rows twice, takes a list)."""
    for row in values:
        yield Referrer(
            id=row["id"],
            external_id=row["external_id"],
            name=row["name"],
            referred=row["referred"],
            revenue=money_from_cents(row["revenue_cents"]),
            period_revenue=money_from_cents(row["period_cents"]) if "period_cents" in row else None,
        )


def referral_totals(*, period: Period | None = None) -> ReferralTotals:
    people = Customer.objects.filter(referred_by__isnull=False).aggregate(
        referred=Count("pk"), referrers=Count("referred_by", distinct=True)
    )
    sums = {"total": Coalesce(Sum(cents("amount")), 0, output_field=BigIntegerField())}
    if period is not None:
        in_period = Q(date__range=(period.start, period.end))
        sums["in_period"] = Coalesce(Sum(cents("amount"), filter=in_period), 0, output_field=BigIntegerField())
    money = RevenueEntry.objects.filter(customer__referred_by__isnull=False).aggregate(**sums)
    return ReferralTotals(
        referrers=people["referrers"],
        referred=people["referred"],
        revenue=money_from_cents(money["total"]),
        period_revenue=money_from_cents(money["in_period"]) if period is not None else None,
    )
