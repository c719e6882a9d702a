"""Earned growth (SPEC §3): net revenue retention + earned-new-customer revenue − 100%.

The database does the work in one aggregate statement: the inner query sums each unit's
(entity's, or customer's) revenue in the prior period P and the current period C from the ledger
lines dated from P to C (or, for entities and whole quarters or years on PostgreSQL, from the
per-entity quarterly roll-up `RevenueQuarter`, which triggers keep equal to the ledger), and checks
whether new units had revenue earlier; the outer query splits
those units into the cohort K (revenue in P > 0) and the new ones, classed by their acquisition
reason, and sums every figure. Python only divides. `earned_growth_by_segment` is the same
statement grouped by segment.

Definitions the SPEC leaves open, decided here:

- The unit is the customer entity (the top ancestor) at `entity` grain, the customer itself at
  `customer` grain. A unit's acquisition reason and segment are the unit's own: at entity grain
  the top ancestor's, whatever its divisions answered or are filed under. A segment filter or
  grouping therefore keeps or moves whole entities.
- The reason class is that of the category an admin mapped an "other" answer to, else that of
  the answered category; no answer, or an "other" answer not yet mapped, is unknown.
- Reactivated units are new units that had positive revenue before C outside P: with the prior
  period that is "revenue before P, none in P"; with `yoy` a unit active only between P and C is
  reactivated too, not counted as a brand-new customer.
- Units with net revenue in P at or below 0 (refunds beyond their sales) are outside K, yet
  their P revenue is part of R_P. It is carried in churned revenue (lowering it), so that
  `nrr = 1 + expansion − contraction − churn` holds exactly; their C revenue is new revenue.
- A unit in K whose C revenue is at or below 0 churned: churn is P revenue minus C revenue.
- R_P at or below 0 (no revenue, or a prior period of net credit notes) leaves every ratio null
  with a note: over a negative base a ratio flips sign (-40 → 50 would read as -225 %).

Money is exact: PostgreSQL sums `numeric`; SQLite, which keeps decimals as floats, sums integer
cents.
"""

from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from accounting.models import Customer, ReasonCategory, RevenueEntry, RevenueQuarter
from accounting.rollup_sql import rollup_kept

from .periods import PRIOR, QUARTER, YEAR, Period

ENTITY, CUSTOMER = "entity", "customer"
GRAINS = (ENTITY, CUSTOMER)
RATE_PLACES = Decimal("0.000001")
CENT = Decimal("0.01")

MONEY_KEYS = (
    "prior_revenue", "revenue", "retained_revenue", "earned_new_revenue", "bought_new_revenue",
    "unknown_new_revenue", "reactivated_revenue", "expansion_revenue", "contraction_revenue",
    "churned_revenue",
)
RATE_KEYS = (
    "nrr", "grr", "enc", "bnc", "unc", "earned_growth_rate", "total_growth_rate",
    "earned_growth_share", "earned_growth_rate_if_unknown_earned",
)


@dataclass
class EarnedGrowth:
    period: Period
    prior_period: Period
    grain: str
    segment: str | None
    prior_revenue: Decimal
    revenue: Decimal
    retained_revenue: Decimal
    earned_new_revenue: Decimal
    bought_new_revenue: Decimal
    unknown_new_revenue: Decimal
    reactivated_revenue: Decimal
    expansion_revenue: Decimal
    contraction_revenue: Decimal
    churned_revenue: Decimal
    gross_retained_revenue: Decimal
    # The new units' revenue counting only units that brought revenue (above 0 in C), known
    # reason and all: the base of `known_reason_share`, which a refund must not push past 100 %.
    known_new_sales: Decimal
    new_sales: Decimal
    cohort_units: int
    new_units: dict[str, int]
    reactivated_units: int
    notes: list[str] = field(default_factory=list)

    # --- ratios of SPEC §3; None where undefined, with the reason in `notes` -------------------
    @property
    def ratios_defined(self) -> bool:
        """SPEC §3 nulls the ratios when R_P = 0. Over a negative R_P (a prior period of credit
        notes) they are as meaningless, and would flip sign: -40 → 50 would read as -225 %."""
        return self.prior_revenue > 0

    def _over_prior(self, amount: Decimal) -> Decimal | None:
        return amount / self.prior_revenue if self.ratios_defined else None

    @property
    def nrr(self):
        return self._over_prior(self.retained_revenue)

    @property
    def grr(self):
        return self._over_prior(self.gross_retained_revenue)

    @property
    def enc(self):
        return self._over_prior(self.earned_new_revenue)

    @property
    def bnc(self):
        return self._over_prior(self.bought_new_revenue)

    @property
    def unc(self):
        return self._over_prior(self.unknown_new_revenue)

    @property
    def expansion(self):
        return self._over_prior(self.expansion_revenue)

    @property
    def contraction(self):
        return self._over_prior(self.contraction_revenue)

    @property
    def churn(self):
        return self._over_prior(self.churned_revenue)

    @property
    def earned_growth_rate(self):
        """nrr + enc - 1, as one division of exact sums (no rounding of the two ratios first)."""
        if not self.ratios_defined:
            return None
        return (self.retained_revenue + self.earned_new_revenue) / self.prior_revenue - 1

    @property
    def earned_growth_rate_if_unknown_earned(self):
        """The upper bound: every new unit of unknown reason counted as earned."""
        if not self.ratios_defined:
            return None
        return (self.retained_revenue + self.earned_new_revenue + self.unknown_new_revenue) / self.prior_revenue - 1

    @property
    def total_growth_rate(self):
        return self.revenue / self.prior_revenue - 1 if self.ratios_defined else None

    @property
    def earned_growth_share(self):
        total = self.total_growth_rate
        if total is None or total <= 0:
            return None
        return self.earned_growth_rate / total

    @property
    def known_reason_share(self):
        """Share of new revenue whose acquisition reason is known (earned or bought), over the new
        units that brought revenue: a refund to a returning unit of unknown reason (net new revenue
        below 0) would otherwise raise it, up to past 100 %."""
        if self.new_sales <= 0:
            return None
        return self.known_new_sales / self.new_sales

    def as_json(self, *, exact_rates: bool = False) -> dict:
        """The JSON of SPEC §7: money as decimal strings with 2 places, rates as decimal strings
        with up to 6 places (the API's and the command's format).

        `exact_rates` keeps every rate exact, for the snapshots: the dashboard rounds it once, for
        display, as the live figures are (0.1234996 is 12.3 %; first rounded to 0.1235 it was 12.4 %).
        """
        places = None if exact_rates else RATE_PLACES
        data = {"period": str(self.period), "prior_period": str(self.prior_period), "grain": self.grain}
        if self.segment is not None:
            data["segment"] = self.segment
        for key in MONEY_KEYS:
            data[key] = str(getattr(self, key).quantize(CENT))
        for key in RATE_KEYS:
            data[key] = rate_text(getattr(self, key), places)
        data["known_reason_share"] = rate_text(self.known_reason_share, places)
        data["cohort_units"] = self.cohort_units
        data["new_units"] = self.new_units
        data["reactivated_units"] = self.reactivated_units
        data["notes"] = self.notes
        return data


def rate_text(value: Decimal | None, places: Decimal | None = RATE_PLACES) -> str | None:
    """A rate as a decimal string, to `places` (None: exact, as computed)."""
    if value is None:
        return None
    if places is not None:
        # Half away from zero, as every rounded figure in the README.
        value = value.quantize(places, rounding=ROUND_HALF_UP)
    # Fixed-point ("10", never "1E+1"); "+ 0" turns -0 into 0.
    return format(value.normalize() + 0, "f")


def earned_growth(
    *, period: Period, compare: str = PRIOR, grain: str = ENTITY, segment: str | None = None
) -> EarnedGrowth:
    """Every figure of SPEC §3 for `period` against its prior (or `yoy`) period."""
    prior = _prior(period, compare, grain)
    [row] = _aggregate(period, prior, grain, segment=segment)
    return _report(row, period=period, prior=prior, grain=grain, segment=segment)


def earned_growth_by_segment(*, period: Period, compare: str = PRIOR, grain: str = ENTITY) -> list[EarnedGrowth]:
    """One report per segment of the units (a blank segment is ""), ordered by segment."""
    prior = _prior(period, compare, grain)
    rows = _aggregate(period, prior, grain, by_segment=True)
    return [_report(row, period=period, prior=prior, grain=grain, segment=row.pop("segment")) for row in rows]


def _prior(period: Period, compare: str, grain: str) -> Period:
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    return period.prior(compare)


_FIELD_NAMES = {f.name for f in fields(EarnedGrowth)}


def _report(row: dict, *, period: Period, prior: Period, grain: str, segment: str | None) -> EarnedGrowth:
    report = EarnedGrowth(
        period=period, prior_period=prior, grain=grain, segment=segment,
        **{name: value for name, value in row.items() if name in _FIELD_NAMES},
    )
    _explain_nulls(report)
    return report


def _explain_nulls(report: EarnedGrowth) -> None:
    if not report.ratios_defined:
        report.notes.append(
            f"Revenue in {report.prior_period} is {report.prior_revenue.quantize(CENT)}, not above 0: "
            "every ratio is undefined (null)."
        )
    elif report.total_growth_rate <= 0:
        report.notes.append("Total growth is not above 0: the earned growth share is undefined (null).")
    if report.new_sales <= 0:
        report.notes.append("No new revenue: the share with a known reason is undefined (null).")


def money_sql(expression: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(ROUND({expression} * 100) AS INTEGER)"
    return expression


def _aggregate(
    period: Period, prior: Period, grain: str, *, segment: str | None = None, by_segment: bool = False
) -> list[dict]:
    customers = Customer._meta.db_table
    reasons = ReasonCategory._meta.db_table
    # With the prior period there is no time between P and C: nothing to count there.
    gap = (period.start - prior.end).days > 1
    if grain == ENTITY and rollup_kept() and {period.kind, prior.kind} <= {YEAR, QUARTER}:
        per_unit, had_before = _sums_from_rollup(segment, gap)
    else:
        per_unit, had_before = _sums_from_ledger(grain, segment, gap)
    segment_sql = "AND u.segment = %(segment)s" if segment is not None else ""
    group_column, group_by = ("segment, ", "GROUP BY segment ORDER BY segment") if by_segment else ("", "")
    # `fence` keeps PostgreSQL from inlining `classed` and evaluating the probe `had_before` once
    # per use. Units in K have positive revenue in P; every other unit with revenue in C is new.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
    sql = f"""
    WITH per_unit AS ({per_unit}), classed AS (
        SELECT p.rp, p.rc, (p.rp > 0) AS in_k, u.segment,
            CASE WHEN p.rp > 0 OR p.rc = 0 THEN 0
                WHEN p.had_between > 0 THEN 1
                WHEN EXISTS ({had_before}) THEN 1
                ELSE 0 END AS had_before,
            CASE WHEN mapped.kind IS NOT NULL THEN mapped.kind
                WHEN reason.slug = %(other)s THEN 'unknown'
                ELSE COALESCE(reason.kind, 'unknown') END AS kind
        FROM per_unit p
        JOIN {customers} u ON u.id = p.unit_id
        LEFT JOIN {reasons} reason ON reason.id = u.reason_id
        LEFT JOIN {reasons} mapped ON mapped.id = u.reason_mapped_to_id
        WHERE (p.rp <> 0 OR p.rc <> 0) {segment_sql}
        {fence}
    )
    SELECT {group_column}
        COALESCE(SUM(rp), 0) AS prior_revenue,
        COALESCE(SUM(rc), 0) AS revenue,
        COALESCE(SUM(rc) FILTER (WHERE in_k), 0) AS retained_revenue,
        COALESCE(SUM(CASE WHEN rc < rp THEN rc ELSE rp END) FILTER (WHERE in_k), 0) AS gross_retained_revenue,
        COALESCE(SUM(rc - rp) FILTER (WHERE in_k AND rc > rp), 0) AS expansion_revenue,
        COALESCE(SUM(rp - rc) FILTER (WHERE in_k AND rc < rp AND rc > 0), 0) AS contraction_revenue,
        COALESCE(SUM(rp - rc) FILTER (WHERE in_k AND rc <= 0), 0)
            + COALESCE(SUM(rp) FILTER (WHERE NOT in_k), 0) AS churned_revenue,
        COALESCE(SUM(rc) FILTER (WHERE NOT in_k AND kind = 'earned'), 0) AS earned_new_revenue,
        COALESCE(SUM(rc) FILTER (WHERE NOT in_k AND kind = 'bought'), 0) AS bought_new_revenue,
        COALESCE(SUM(rc) FILTER (WHERE NOT in_k AND kind NOT IN ('earned', 'bought')), 0) AS unknown_new_revenue,
        COALESCE(SUM(rc) FILTER (WHERE NOT in_k AND had_before = 1), 0) AS reactivated_revenue,
        COALESCE(SUM(rc) FILTER (WHERE NOT in_k AND rc > 0 AND kind IN ('earned', 'bought')), 0) AS known_new_sales,
        COALESCE(SUM(rc) FILTER (WHERE NOT in_k AND rc > 0), 0) AS new_sales,
        COUNT(*) FILTER (WHERE in_k) AS cohort_units,
        COUNT(*) FILTER (WHERE NOT in_k AND rc <> 0 AND kind = 'earned') AS new_earned,
        COUNT(*) FILTER (WHERE NOT in_k AND rc <> 0 AND kind = 'bought') AS new_bought,
        COUNT(*) FILTER (WHERE NOT in_k AND rc <> 0 AND kind NOT IN ('earned', 'bought')) AS new_unknown,
        COUNT(*) FILTER (WHERE NOT in_k AND rc <> 0 AND had_before = 1) AS reactivated_units
    FROM classed
    {group_by}
    """  # noqa: S608 - table names come from model metadata, values are parameters
    params = {
        "p0": prior.start, "p1": prior.end, "c0": period.start, "c1": period.end,
        "first": min(period.start, prior.start), "last": max(period.end, prior.end),
        "segment": segment, "other": ReasonCategory.OTHER_SLUG,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [_clean(dict(zip(names, values, strict=True))) for values in cursor.fetchall()]


def _sums_from_ledger(grain: str, segment: str | None, gap: bool) -> tuple[str, str]:
    """Each unit's sums from the ledger lines dated from the start of P to the end of C.

    Whether a new unit had positive revenue before C outside P (reactivated) comes from those
    lines for the time between P and C (yoy); for the time before P, an indexed probe of the
    unit's members (index customer_entity_or_self, then revenue_customer_date) runs for new units
    only, once per unit.
    """
    revenue = RevenueEntry._meta.db_table
    customers = Customer._meta.db_table
    unit = "COALESCE(c.entity_id, c.id)" if grain == ENTITY else "c.id"
    amount = money_sql("r.amount")
    # A segment's report sums the lines of its units' members only.
    segment_join = (f"JOIN {customers} s ON s.id = {unit} AND s.segment = %(segment)s"
                    if segment is not None else "")
    had_between = ("COUNT(*) FILTER (WHERE r.date < %(c0)s AND NOT (r.date BETWEEN %(p0)s AND %(p1)s) "
                   "AND r.amount > 0)" if gap else "0")
    per_unit = f"""
        SELECT {unit} AS unit_id,
            COALESCE(SUM({amount}) FILTER (WHERE r.date BETWEEN %(p0)s AND %(p1)s), 0) AS rp,
            COALESCE(SUM({amount}) FILTER (WHERE r.date BETWEEN %(c0)s AND %(c1)s), 0) AS rc,
            {had_between} AS had_between
        FROM {revenue} r JOIN {customers} c ON c.id = r.customer_id {segment_join}
        WHERE r.date BETWEEN %(first)s AND %(last)s
        GROUP BY {unit}
    """  # noqa: S608 - table names come from model metadata, values are parameters
    had_before = f"""
        SELECT 1 FROM {customers} c JOIN {revenue} r ON r.customer_id = c.id
        WHERE {unit} = p.unit_id AND r.date < %(first)s AND r.amount > 0
    """  # noqa: S608
    return per_unit, had_before


def _sums_from_rollup(segment: str | None, gap: bool) -> tuple[str, str]:
    """The same sums at entity grain from `RevenueQuarter`, for periods made of whole quarters.

    The roll-up is about a third of the ledger and already grouped by entity: it is read in key
    order, with no join to customers to find the entity (see bench/earned_growth.py).
    """
    rollup = RevenueQuarter._meta.db_table
    customers = Customer._meta.db_table
    segment_join = (f"JOIN {customers} s ON s.id = q.unit_id AND s.segment = %(segment)s"
                    if segment is not None else "")
    had_between = ("COALESCE(SUM(q.positive_lines) FILTER (WHERE q.quarter < %(c0)s "
                   "AND NOT (q.quarter BETWEEN %(p0)s AND %(p1)s)), 0)" if gap else "0")
    per_unit = f"""
        SELECT q.unit_id,
            COALESCE(SUM(q.amount) FILTER (WHERE q.quarter BETWEEN %(p0)s AND %(p1)s), 0) AS rp,
            COALESCE(SUM(q.amount) FILTER (WHERE q.quarter BETWEEN %(c0)s AND %(c1)s), 0) AS rc,
            {had_between} AS had_between
        FROM {rollup} q {segment_join}
        WHERE q.quarter BETWEEN %(first)s AND %(last)s
        GROUP BY q.unit_id
    """  # noqa: S608
    had_before = f"""
        SELECT 1 FROM {rollup} q
        WHERE q.unit_id = p.unit_id AND q.quarter < %(first)s AND q.positive_lines > 0
    """  # noqa: S608
    return per_unit, had_before


def _clean(row: dict) -> dict:
    for key in (*MONEY_KEYS, "gross_retained_revenue", "known_new_sales", "new_sales"):
        row[key] = to_money(row[key])
    row["new_units"] = {"earned": row.pop("new_earned"), "bought": row.pop("new_bought"),
                        "unknown": row.pop("new_unknown")}
    return row


def to_money(value) -> Decimal:
    if connection.vendor == "sqlite":
        return Decimal(int(value)).scaleb(-2)  # cents to an exact 2-place Decimal
    return Decimal(value).quantize(CENT)
