"""Earned vs bought cohorts (SPEC §3 "Also"; issue 3, item 5).

Units (customer entities by default, customers on request) are grouped by the quarter, or month,
of their acquisition and by the class of their acquisition reason: earned, bought or unknown. For
each group and each age of 3, 6, 12 and 24 months:

- retention: the share of the group's units with revenue above 0 in the calendar month at that
  age (the acquisition month is age 0, so "12 months" is the same month a year later);
- revenue minus costs per unit, cumulated up to the end of that month: revenue and cost to serve
  from the acquisition month on, and acquisition costs (`Customer.acquisition_cost`, counted at
  age 0, plus acquisition `CostEntry` lines, which may be dated before the acquisition).

An age a cohort has not reached for all its units (the month at that age has not ended on the
report date) is left empty, never shown as 0. The "All cohorts" row of a class takes each age over
the cohorts that have reached it, so a later age can stand for fewer units than the row counts: the
units behind each age (`CohortRow.base`) go with it to the page and the CSV. Acquisition cost per
unit is also given by class and by reason, over every unit, dated or not.

The database does the work in two statements: the ORM builds the portable pieces (each unit's
cohort, class and the first days of the months at each age; its ledger and cost lines), and an
outer query keeps only the lines in the 24 months the report looks at, sums them per unit and
then per cohort and class. Money is summed in integer cents, which is exact on SQLite as well as
PostgreSQL.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import NotSupportedError, connection
from django.db.models import BigIntegerField, Case, DateField, F, Func, Q, QuerySet, Sum, When
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractQuarter, ExtractYear, Round
from django.utils import timezone

from accounting.models import CostEntry, CostKind, Customer, ReasonKind, RevenueEntry
from accounting.selectors import REASON_CLASS

from .earned_growth import CUSTOMER, ENTITY, GRAINS
from .nps_formulas import shown
from .periods import MONTH, QUARTER, Period, period_containing

AGES = (3, 6, 12, 24)
BY_CHOICES = (QUARTER, MONTH)
KINDS = tuple(ReasonKind.values)  # earned, bought, unknown: the order of every table
NO_REASON = "No answer"
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")


# --- Results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    """One cohort and class (or, with `cohort` None, all cohorts of a class together).

    Per age, in the order of AGES: `base` counts the units whose cohort has reached that age (0
    when none has), `retained` those of them with revenue in the month at that age, `net` the sum
    of their revenue minus costs up to the end of that month. In an all-cohorts row `base` can
    fall with age below `customers`: the figures at a later age are over fewer units.
    """

    cohort: Period | None
    kind: str
    customers: int
    base: tuple[int, ...]
    retained: tuple[int, ...]
    net: tuple[Decimal, ...]

    @property
    def label(self) -> str:
        return str(self.cohort) if self.cohort is not None else "All cohorts"

    @property
    def retention(self) -> tuple[Decimal | None, ...]:
        return tuple(
            None if base == 0 else (Decimal(kept) / base).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
            for base, kept in zip(self.base, self.retained, strict=True)
        )

    @property
    def retention_percent(self) -> tuple[Decimal | None, ...]:
        # From the exact share, rounded once and half away from zero, as every report page rounds
        # (1 of 16 is 6.3 %, not Decimal's 6.2).
        return tuple(
            None if base == 0 else shown(Decimal(kept) * 100 / base, 1)
            for base, kept in zip(self.base, self.retained, strict=True)
        )

    @property
    def net_per_customer(self) -> tuple[Decimal | None, ...]:
        return tuple(
            None if base == 0 else _per_unit(total, base) for base, total in zip(self.base, self.net, strict=True)
        )


@dataclass(frozen=True)
class AcquisitionRow:
    kind: str
    reason: str  # a category label, NO_REASON, or "" for a class total
    customers: int
    cost: Decimal

    @property
    def per_customer(self) -> Decimal | None:
        return _per_unit(self.cost, self.customers) if self.customers else None


@dataclass(frozen=True)
class CohortReport:
    by: str
    grain: str
    segment: str | None
    as_of: dt.date
    rows: list[CohortRow]
    totals: list[CohortRow]  # one per class present, all cohorts together
    acquisition_by_class: list[AcquisitionRow]
    acquisition_by_reason: list[AcquisitionRow]
    undated_customers: int  # units without an acquisition date: in no cohort, but in the cost tables


def _per_unit(total: Decimal, units: int) -> Decimal:
    return (total / units).quantize(CENT, rounding=ROUND_HALF_UP) + 0  # + 0: never "-0.00"


# --- The report -----------------------------------------------------------------------------------


def cohort_report(
    *, by: str = QUARTER, grain: str = ENTITY, segment: str | None = None, as_of: dt.date | None = None
) -> CohortReport:
    if by not in BY_CHOICES:
        raise ValueError(f"by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    as_of = as_of or timezone.localdate()
    units = _units(grain=grain, segment=segment, by=by)
    rows = sorted(
        (_cohort_row(row, by=by, as_of=as_of) for row in _run(*_cohort_sql(units, grain))),
        key=lambda row: (row.cohort.start, KINDS.index(row.kind)),
    )
    by_reason, undated = _acquisition_rows(_run(*_acquisition_sql(units, grain)))
    return CohortReport(
        by=by,
        grain=grain,
        segment=segment,
        as_of=as_of,
        rows=rows,
        totals=_totals(rows),
        acquisition_by_class=_by_class(by_reason),
        acquisition_by_reason=by_reason,
        undated_customers=undated,
    )


def _cohort_row(row: dict, *, by: str, as_of: dt.date) -> CohortRow:
    first_month = (int(row["cohort_part"]) - 1) * 3 + 1 if by == QUARTER else int(row["cohort_part"])
    cohort = period_containing(dt.date(int(row["cohort_year"]), first_month, 1), by)
    customers = int(row["customers"])
    # An age is reached when the month at that age has ended for the cohort's last acquisition month.
    reached = [age for age in AGES if _month_number(cohort.end) + age < _month_number(as_of)]
    return CohortRow(
        cohort=cohort,
        kind=row["kind"],
        customers=customers,
        base=tuple(customers if age in reached else 0 for age in AGES),
        retained=tuple(int(row[f"retained_{age}"]) if age in reached else 0 for age in AGES),
        net=tuple(money_from_cents(row[f"net_{age}"]) if age in reached else Decimal(0) for age in AGES),
    )


def _month_number(day: dt.date) -> int:
    """The SQL month index, year * 12 + month: a difference of two is an age in months."""
    return day.year * 12 + day.month


def _totals(rows: list[CohortRow]) -> list[CohortRow]:
    """Per class, all cohorts together; each age over the cohorts that have reached it.

    So the 12-month figure may be over the older cohorts only: each age's `base` says how many
    units it is over, and the page and CSV show it beside the figures.
    """
    totals = []
    for kind in KINDS:
        mine = [row for row in rows if row.kind == kind]
        if not mine:
            continue
        totals.append(
            CohortRow(
                cohort=None,
                kind=kind,
                customers=sum(row.customers for row in mine),
                base=tuple(sum(values) for values in zip(*(row.base for row in mine), strict=True)),
                retained=tuple(sum(values) for values in zip(*(row.retained for row in mine), strict=True)),
                net=tuple(sum(values, Decimal(0)) for values in zip(*(row.net for row in mine), strict=True)),
            )
        )
    return totals


def _acquisition_rows(rows: list[dict]) -> tuple[list[AcquisitionRow], int]:
    def order(row):
        # By class, then as the categories are ordered for the customer; "No answer" last.
        kind, no_reason = KINDS.index(row["kind"]), row["reason_ref"] is None
        return (kind, no_reason, row["reason_order"] or 0, row["reason_label"] or "")

    by_reason = [
        AcquisitionRow(
            kind=row["kind"],
            reason=row["reason_label"] or NO_REASON,
            customers=int(row["customers"]),
            cost=money_from_cents(row["cost"]),
        )
        for row in sorted(rows, key=order)
    ]
    return by_reason, sum(int(row["undated"]) for row in rows)


def _by_class(by_reason: list[AcquisitionRow]) -> list[AcquisitionRow]:
    return [
        AcquisitionRow(
            kind=kind,
            reason="",
            customers=sum(row.customers for row in by_reason if row.kind == kind),
            cost=sum((row.cost for row in by_reason if row.kind == kind), Decimal(0)),
        )
        for kind in KINDS
        if any(row.kind == kind for row in by_reason)
    ]


# --- Portable pieces, built by the ORM ------------------------------------------------------------


def _month_index(path: str):
    return ExtractYear(path) * 12 + ExtractMonth(path)


class MonthStart(Func):
    """The first day of the month `months` after the month of a date: ledger days are compared
    with it as they are, where a month index would be computed for every line."""

    output_field = DateField()

    def __init__(self, expression, months: int):
        super().__init__(expression)
        self.months = months

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"MonthStart has no SQL for {connection.vendor}, only SQLite and PostgreSQL")

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"DATE({sql}, 'start of month', %s)", [*params, f"+{self.months} months"]

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        start = f"DATE_TRUNC('month', CAST({sql} AS timestamp))"  # timestamp: no time zone moves the day
        return f"CAST({start} + CAST(%s AS interval) AS date)", [*params, f"{self.months} months"]


def _age_bounds() -> dict:
    """Per age, the first day of the month at that age and of the month after it."""
    bounds = {"month_0": MonthStart("acquired_on", 0)}
    for age in AGES:
        bounds[f"start_{age}"] = MonthStart("acquired_on", age)
        bounds[f"end_{age}"] = MonthStart("acquired_on", age + 1)
    return bounds


def cents(path: str):
    """A money column as integer cents, so that sums are exact on every backend."""
    # ROUND first: SQLite keeps decimals as floats, and CAST alone truncates 28.999… to 28.
    return Cast(Round(F(path) * 100), BigIntegerField())


def _ledger_unit(grain: str):
    return F("customer_id") if grain == CUSTOMER else Coalesce("customer__entity_id", "customer_id")


def _customer_unit(grain: str):
    return F("id") if grain == CUSTOMER else Coalesce("entity_id", "id")


def _units(*, grain: str, segment: str | None, by: str) -> QuerySet:
    """Each unit with its acquisition month index and age bounds, cohort, class and effective reason."""
    units = Customer.objects.order_by()
    if grain == ENTITY:
        # A customer whose entity has not been set yet is its own entity, as in the earned growth report.
        units = units.filter(Q(entity__isnull=True) | Q(entity=F("pk")))
    if segment:
        units = units.filter(segment=segment)
    part = ExtractQuarter if by == QUARTER else ExtractMonth
    bounds = _age_bounds()
    return units.annotate(
        acq_month=_month_index("acquired_on"),
        **bounds,
        cohort_year=ExtractYear("acquired_on"),
        cohort_part=part("acquired_on"),
        kind=REASON_CLASS,
        reason_ref=Coalesce("reason_mapped_to_id", "reason_id"),
        reason_label=Coalesce("reason_mapped_to__label", "reason__label"),
        reason_order=Coalesce("reason_mapped_to__order", "reason__order"),
    ).values(
        "id", "acq_month", *bounds, "cohort_year", "cohort_part", "kind", "reason_ref", "reason_label", "reason_order"
    )


def _members(grain: str) -> QuerySet:
    """Each customer with its unit: itself, or at entity grain its entity."""
    return Customer.objects.order_by().values(customer=F("id"), unit=_customer_unit(grain))


def _revenue_lines() -> QuerySet:
    return RevenueEntry.objects.order_by().values("customer_id", day=F("date"), revenue=cents("amount"))


def _cost_lines() -> QuerySet:
    acquisition = Q(kind=CostKind.ACQUISITION)
    return CostEntry.objects.order_by().values(
        "customer_id",
        day=F("date"),
        serve=Case(When(acquisition, then=0), default=cents("amount"), output_field=BigIntegerField()),
        acquisition=Case(When(acquisition, then=cents("amount")), default=0, output_field=BigIntegerField()),
        is_acquisition=Case(When(acquisition, then=1), default=0),
    )


def _acquisition_entries(grain: str) -> QuerySet:
    return (
        CostEntry.objects.order_by()
        .filter(kind=CostKind.ACQUISITION)
        .annotate(unit=_ledger_unit(grain))
        .values("unit")
        .annotate(acquisition=Sum(cents("amount")))
    )


def _customer_acquisition_costs(grain: str) -> QuerySet:
    return (
        Customer.objects.order_by()
        .filter(acquisition_cost__isnull=False)
        .annotate(unit=_customer_unit(grain))
        .values("unit")
        .annotate(acquisition=Sum(cents("acquisition_cost")))
    )


# --- The two statements ---------------------------------------------------------------------------


def _compose(template: str, **parts: QuerySet) -> tuple[str, list]:
    """Fill `{name}` slots with the ORM's SQL; parameters follow the slots' order in the template."""
    compiled = {name: queryset.query.sql_with_params() for name, queryset in parts.items()}
    order = sorted(compiled, key=lambda name: template.index("{" + name + "}"))
    params = [param for name in order for param in compiled[name][1]]
    return template.format(**{name: sql for name, (sql, _) in compiled.items()}), params


def _unit_measures() -> str:
    # Ages are constants of this module, not user input.
    measures = []
    for age in AGES:
        measures.append(
            f"SUM(CASE WHEN l.day >= u.start_{age} AND l.day < u.end_{age} THEN l.revenue END) AS revenue_{age}"
        )
        measures.append(f"SUM(CASE WHEN l.day < u.end_{age} THEN l.revenue - l.serve - l.acquisition END) AS net_{age}")
    return ",\n        ".join(measures)


def _measures() -> str:
    measures = []
    for age in AGES:
        measures.append(f"COUNT(CASE WHEN revenue_{age} > 0 THEN 1 END) AS retained_{age}")
        measures.append(f"COALESCE(SUM(net_{age}), 0) AS net_{age}")
    return ",\n        ".join(measures)


# Only the lines the report looks at are read: revenue and costs to serve from the acquisition
# month to the end of the month at the last age, and acquisition costs up to then, however early
# (they may be dated before the acquisition). They are compared by day with each unit's age bounds,
# so PostgreSQL can search the ledger's (customer, date) index and no line's month is computed.
# Customer.acquisition_cost has no date: it counts in the acquisition month, age 0. Lines are
# summed per unit, so "revenue > 0 at age a" is a monthly total, refunds included, then per cohort;
# units are counted apart. Each line finds its customer's unit by key: joining units to the ledger
# by scanning it, SQLite, which has no hash join, read the whole ledger once per unit (30 s on the
# demo).
_COHORT_SQL = """
WITH units AS ({units}),
members AS ({members}),
lines AS (
    SELECT m.unit, r.day, r.revenue, 0 AS serve, 0 AS acquisition
    FROM ({revenue}) r JOIN members m ON m.customer = r.customer_id JOIN units u ON u.id = m.unit
    WHERE r.day >= u.month_0 AND r.day < u.end_24
    UNION ALL
    SELECT m.unit, k.day, 0, k.serve, k.acquisition
    FROM ({costs}) k JOIN members m ON m.customer = k.customer_id JOIN units u ON u.id = m.unit
    WHERE k.day < u.end_24 AND (k.day >= u.month_0 OR k.is_acquisition = 1)
    UNION ALL
    SELECT a.unit, u.month_0, 0, 0, a.acquisition
    FROM ({customer_costs}) a JOIN units u ON u.id = a.unit
    WHERE u.month_0 IS NOT NULL
),
per_unit AS (
    SELECT l.unit,
        {unit_measures}
    FROM lines l JOIN units u ON u.id = l.unit
    GROUP BY l.unit
),
counted AS (
    SELECT cohort_year, cohort_part, kind, COUNT(*) AS customers
    FROM units WHERE acq_month IS NOT NULL
    GROUP BY cohort_year, cohort_part, kind
),
measured AS (
    SELECT cohort_year, cohort_part, kind,
        {measures}
    FROM per_unit p JOIN units u ON u.id = p.unit
    GROUP BY cohort_year, cohort_part, kind
)
SELECT c.cohort_year, c.cohort_part, c.kind, c.customers,
        {outer_measures}
FROM counted c LEFT JOIN measured m
    ON m.cohort_year = c.cohort_year AND m.cohort_part = c.cohort_part AND m.kind = c.kind
"""

_ACQUISITION_SQL = """
WITH units AS ({units}),
acquisition AS (
    SELECT c.unit, SUM(c.acquisition) AS cost FROM (
        SELECT k.unit, k.acquisition FROM ({entries}) k
        UNION ALL
        SELECT a.unit, a.acquisition FROM ({customer_costs}) a
    ) c
    GROUP BY c.unit
)
SELECT u.kind, u.reason_ref, u.reason_label, u.reason_order, COUNT(*) AS customers,
    COALESCE(SUM(a.cost), 0) AS cost, COUNT(CASE WHEN u.acq_month IS NULL THEN 1 END) AS undated
FROM units u LEFT JOIN acquisition a ON a.unit = u.id
GROUP BY u.kind, u.reason_ref, u.reason_label, u.reason_order
"""


def _outer_measures() -> str:
    # A group whose units have no ledger line at all is in `counted` only: its measures are 0.
    names = [f"{measure}_{age}" for age in AGES for measure in ("retained", "net")]
    return ",\n        ".join(f"COALESCE(m.{name}, 0) AS {name}" for name in names)


def _cohort_sql(units: QuerySet, grain: str) -> tuple[str, list]:
    template = (
        _COHORT_SQL.replace("{unit_measures}", _unit_measures())
        .replace("{measures}", _measures())
        .replace("{outer_measures}", _outer_measures())
    )
    return _compose(
        template,
        units=units,
        members=_members(grain),
        revenue=_revenue_lines(),
        costs=_cost_lines(),
        customer_costs=_customer_acquisition_costs(grain),
    )


def _acquisition_sql(units: QuerySet, grain: str) -> tuple[str, list]:
    return _compose(
        _ACQUISITION_SQL,
        units=units,
        entries=_acquisition_entries(grain),
        customer_costs=_customer_acquisition_costs(grain),
    )


def _run(sql: str, params: list) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def money_from_cents(value) -> Decimal:
    """An integer number of cents from the database (int, or Decimal on PostgreSQL) as money."""
    return (Decimal(int(value)) / 100).quantize(CENT)
