"""Reads behind the earned-growth dashboard: its snapshots, the revenue bridge, the segment table.

The dashboard shows report snapshots (SPEC §6), never a live computation of its headline or trend:
the chosen period, its prior period and the trend periods are read in one query. A snapshot that
does not exist yet is asked for through the snapshot service (an idempotent upsert plus a task
after commit; computed at once in eager mode, shown as pending otherwise). That request is the
only write here, on behalf of the schedule rather than the viewer: filling a gap is not a
recompute, which stays with users holding reports.recompute_reportsnapshot.

The segment table is `earned_growth_by_segment`, one aggregate statement over the ledger.

The NPS dashboard reads live (reports/nps_dashboard.py); what it opens on when no period is asked
for is `nps_opening`, here beside the default period it shares with earned growth.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min
from django.utils import timezone

from surveys.models import Survey

from .earned_growth import MONEY_KEYS, EarnedGrowth, earned_growth_by_segment
from .fingerprints import fingerprint_for, is_stale
from .models import ReportSnapshot, SnapshotKind, SnapshotStatus
from .nps import period_bounds, responses_in
from .periods import MIN_YEAR, MONTH, QUARTER, YEAR, Period, last_periods, period_containing
from .snapshots import snapshot_request

KIND = SnapshotKind.EARNED_GROWTH
TREND_LENGTH = {QUARTER: 8, YEAR: 3, MONTH: 12}
KNOWN_REASON_WARNING_BELOW = Decimal("0.8")
AUTOFILL_YEARS = 3  # see filled_on_view
NOT_COMPUTED = "not_computed"  # a period's state when it has no snapshot and none was asked for


def default_period(today: dt.date | None = None) -> Period:
    """The last complete quarter."""
    today = today or timezone.localdate()
    return period_containing(today, QUARTER).shifted(-3)


@dataclass(frozen=True)
class NpsOpening:
    """The period the NPS dashboard opens on, and the default one it stands in for (None: it is
    the default)."""

    period: Period
    instead_of: Period | None = None


def nps_opening(
    *, survey_type: str, survey: Survey | None = None, segment: str | None = None, touchpoint: str | None = None,
    today: dt.date | None = None,
) -> NpsOpening:
    """The last complete quarter, as earned growth opens on, unless it holds no answer of the
    report's scope while the running quarter does (a company's first answers, all in its first
    quarter): then the running quarter, which the page says is in progress. One aggregate: the
    earliest answer over the two quarters."""
    default = default_period(today)
    running = default.next()
    both = Period(default.start, running.end, QUARTER)
    first = responses_in(both, kind=survey_type, survey=survey, segment=segment, touchpoint=touchpoint).aggregate(
        first=Min("answered_at")
    )["first"]
    _, running_starts = period_bounds(default)
    if first is not None and first >= running_starts:
        return NpsOpening(period=running, instead_of=default)
    return NpsOpening(period=default)


@dataclass(frozen=True)
class DashboardParams:
    period: Period
    compare: str
    grain: str
    segment: str = ""  # "" = every customer

    @property
    def prior(self) -> Period:
        return self.period.prior(self.compare)

    @property
    def trend_periods(self) -> list[Period]:
        """The last 8 quarters, 3 years or 12 months, ending with the chosen period (none before
        the first year a report takes: there is nothing to compute there)."""
        periods = last_periods(self.period.kind, TREND_LENGTH[self.period.kind], self.period.end)
        return [period for period in periods if period.start.year >= MIN_YEAR]

    @property
    def periods(self) -> list[Period]:
        """Every period the page reads a snapshot of, oldest first."""
        return sorted(period for period in {self.prior, *self.trend_periods} if period.start.year >= MIN_YEAR)

    def query(self) -> dict:
        data = {"period": str(self.period), "compare": self.compare, "grain": self.grain}
        return data | ({"segment": self.segment} if self.segment else {})


@dataclass
class PeriodFigures:
    """One period's snapshot as the dashboard shows it: its figures if it has any, and its state."""

    period: Period
    snapshot: ReportSnapshot | None
    stale: bool = False

    @property
    def figures(self) -> dict:
        return self.snapshot.figures if self.snapshot is not None else {}

    @property
    def ready(self) -> bool:
        return bool(self.figures)

    @property
    def status(self) -> str:
        # No row: never asked for, since a page view asks for every period it may (filled_on_view).
        return self.snapshot.status if self.snapshot is not None else NOT_COMPUTED

    @property
    def computing(self) -> bool:
        return self.status in (SnapshotStatus.PENDING, SnapshotStatus.RUNNING)

    @property
    def notes(self) -> list[str]:
        return self.figures.get("notes", [])

    def money(self, key: str) -> Decimal | None:
        value = self.figures.get(key)
        return None if value is None else Decimal(value)

    def rate(self, key: str) -> Decimal | None:
        """Exact (snapshots keep rates exact, views round them once); 6 places in older snapshots."""
        value = self.figures.get(key)
        return None if value is None else Decimal(value)

    @property
    def unknown_reason_warning(self) -> bool:
        share = self.rate("known_reason_share")
        return share is not None and share < KNOWN_REASON_WARNING_BELOW


@dataclass
class Dashboard:
    params: DashboardParams
    current: PeriodFigures
    prior: PeriodFigures
    trend: list[PeriodFigures]

    @property
    def stale(self) -> list[PeriodFigures]:
        return [item for item in self._shown() if item.ready and item.stale]

    @property
    def computing(self) -> bool:
        return any(item.computing for item in self._shown())

    def _shown(self) -> list[PeriodFigures]:
        by_period = {item.period: item for item in (*self.trend, self.prior, self.current)}
        return list(by_period.values())


def dashboard_snapshots(params: DashboardParams) -> dict[str, ReportSnapshot]:
    """The snapshots of every period the page shows, by period, in one query."""
    rows = ReportSnapshot.objects.filter(
        kind=KIND,
        compare=params.compare,
        grain=params.grain,
        segment=params.segment,
        period__in=[str(period) for period in params.periods],
    )
    return {row.period: row for row in rows}


def filled_on_view(period: Period, today: dt.date | None = None) -> bool:
    """Whether opening the dashboard asks for this period's missing snapshot: periods that start in
    the last AUTOFILL_YEARS calendar years, what the nightly run and the default trends cover. A
    page view writes only this bounded cache; older periods wait for the Recompute button (a POST,
    with the recompute permission), so no GET can set off computations without end."""
    today = today or timezone.localdate()
    return period.start >= dt.date(today.year - AUTOFILL_YEARS, 1, 1)


def earned_growth_dashboard(params: DashboardParams) -> Dashboard:
    """The snapshots of the chosen period, its prior period and the trend, asking for missing recent ones."""
    found = dashboard_snapshots(params)
    missing = [str(period) for period in params.periods if str(period) not in found and filled_on_view(period)]
    for period in missing:
        snapshot_request(kind=KIND, period=period, compare=params.compare, grain=params.grain, segment=params.segment)
    if missing:
        found = dashboard_snapshots(params)  # computed meanwhile in eager mode; pending otherwise
    fingerprint = fingerprint_for(KIND, params.segment)

    def figures(period: Period) -> PeriodFigures:
        snapshot = found.get(str(period))
        stale = snapshot is not None and bool(snapshot.figures) and is_stale(snapshot, fingerprint)
        return PeriodFigures(period=period, snapshot=snapshot, stale=stale)

    return Dashboard(
        params=params,
        current=figures(params.period),
        prior=figures(params.prior),
        trend=[figures(period) for period in params.trend_periods],
    )


def dashboard_recompute_periods(params: DashboardParams) -> list[str]:
    """What the Recompute button recomputes: the chosen period, and every other period shown whose
    snapshot is stale, failed or was never computed."""
    found = dashboard_snapshots(params)
    fingerprint = fingerprint_for(KIND, params.segment)
    again = [
        str(period)
        for period in params.periods
        if period != params.period
        and (
            str(period) not in found
            or found[str(period)].status == SnapshotStatus.FAILED
            or is_stale(found[str(period)], fingerprint)
        )
    ]
    return [str(params.period), *again]


def dashboard_segments(params: DashboardParams) -> list[EarnedGrowth]:
    """The segment table: every segment of the chosen period, one aggregate statement."""
    return earned_growth_by_segment(period=params.period, compare=params.compare, grain=params.grain)


# --- the revenue bridge ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeStep:
    key: str
    label: str
    amount: Decimal  # signed: what the bar adds to the running total; the ends are totals
    measure: str  # "absolute" (the start), "relative" (a step) or "total" (the end)


# (figure, label, sign) between the prior and the current revenue, in the order of the chart.
BRIDGE_STEPS = (
    ("churned_revenue", "Churn", -1),
    ("contraction_revenue", "Contraction", -1),
    ("expansion_revenue", "Expansion", 1),
    ("earned_new_revenue", "Earned new", 1),
    ("bought_new_revenue", "Bought new", 1),
    ("unknown_new_revenue", "Unknown new", 1),
)


@dataclass(frozen=True)
class Bridge:
    steps: list[BridgeStep]

    @property
    def start(self) -> Decimal:
        return self.steps[0].amount

    @property
    def end(self) -> Decimal:
        return self.steps[-1].amount

    @property
    def balanced(self) -> bool:
        """R_P − churn − contraction + expansion + earned + bought + unknown = R_C, to the cent."""
        return sum(step.amount for step in self.steps[:-1]) == self.end


def revenue_bridge(item: PeriodFigures) -> Bridge | None:
    """Prior revenue → −churn → −contraction → +expansion → +new by class → current revenue."""
    if not item.ready or any(item.figures.get(key) is None for key in MONEY_KEYS):
        return None
    prior, current = item.figures["prior_period"], item.figures["period"]
    steps = [BridgeStep("prior_revenue", f"Revenue {prior}", item.money("prior_revenue"), "absolute")]
    # "+ 0": a step of nothing is 0.00, never -0.00
    steps += [BridgeStep(key, label, sign * item.money(key) + 0, "relative") for key, label, sign in BRIDGE_STEPS]
    steps.append(BridgeStep("revenue", f"Revenue {current}", item.money("revenue"), "total"))
    return Bridge(steps)
