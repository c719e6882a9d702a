"""What the NPS dashboard shows (SPEC §5), assembled from the NPS engine, one series at a time.

It reads live: every figure is one grouped count over indexed responses and invitations (the
benchmark in bench/nps.py measures it), so the page is never behind the answers, and it says when
it computed them. The nightly NPS snapshots keep the figures of each period for the API and for
reproducing a past report.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from surveys.models import Response, Survey, SurveyKind
from surveys.selectors import responses_shown_one_by_one

from . import nps_formulas as f
from .integrity import Flag, integrity_flags
from .loyalty import LoyaltyRow, loyalty_economics
from .nps import (
    ALL,
    NpsCounts,
    NpsReport,
    NpsSample,
    nps_breakdowns,
    nps_report,
    nps_trend,
    responses_in,
    revenue_share_breakdowns,
    revenue_share_trend,
    sample_breakdowns,
    sample_trend,
)
from .periods import MONTH, QUARTER, YEAR, Period

TREND_LENGTH = {YEAR: 3, QUARTER: 8, MONTH: 12}
NPS_FLOOR, NPS_CEILING = Decimal(-100), Decimal(100)
VERBATIMS = 10
BREAKDOWN_KINDS = ["segment", "touchpoint", "survey"]
COLORS = {"nps": "#1f5fbf", "band": "rgba(31, 95, 191, 0.18)", "promoter": "#1e7b3a",
          "passive": "#8a93a3", "detractor": "#b3261e"}


@dataclass(frozen=True)
class NpsParams:
    period: Period
    survey_type: str = SurveyKind.RELATIONSHIP
    survey: Survey | None = None
    segment: str | None = None
    touchpoint: str | None = None
    counting: str = ALL

    @property
    def prior(self) -> Period:
        return self.period.shifted(-self.period.months)

    def sample_filters(self) -> dict:
        """What narrows the invitations of a sample (the counting rule is for answers only)."""
        return {"survey": self.survey, "survey_type": self.survey_type, "segment": self.segment,
                "touchpoint": self.touchpoint}

    def filters(self) -> dict:
        return {**self.sample_filters(), "counting": self.counting}


@dataclass
class NpsDashboard:
    params: NpsParams
    current: NpsReport
    prior: NpsReport
    change: f.Change
    # Each NPS beside its sample (SPEC §5: every NPS figure carries it).
    trend: list[tuple[Period, NpsCounts, NpsSample]]
    breakdowns: dict[str, list[tuple[str, NpsCounts, NpsSample]]]
    verbatims: list[Response]
    flags: list[Flag]
    loyalty: list[LoyaltyRow]
    computed_at: dt.datetime  # the page says when: its figures are live, not a snapshot's
    charts: dict = field(default_factory=dict)


def nps_dashboard(params: NpsParams) -> NpsDashboard:
    computed_at = timezone.now()
    filters = params.filters()
    periods = [params.period.shifted(-params.period.months * back)
               for back in range(TREND_LENGTH[params.period.kind] - 1, -1, -1)]
    trend = _with_samples_by_period(periods, params)
    # The trend ends with the prior period and this one, and its revenue shares are the reports'
    # own (one function, one scope each): taken from it rather than read from the ledger again.
    current = nps_report(period=params.period, **filters, revenue_share=False)
    prior = nps_report(period=params.prior, **filters, revenue_share=False)
    (prior_period, _, prior_sample), (current_period, _, current_sample) = trend[-2:]
    assert (prior_period, current_period) == (params.prior, params.period)
    current.sample.revenue_share, prior.sample.revenue_share = current_sample.revenue_share, prior_sample.revenue_share
    dashboard = NpsDashboard(
        params=params,
        current=current,
        prior=prior,
        change=f.change(prior.counts.as_tuple, current.counts.as_tuple),
        trend=trend,
        breakdowns=_with_samples_by_group(params),
        verbatims=latest_verbatims(params),
        flags=integrity_flags(current),
        loyalty=_loyalty(params),
        computed_at=computed_at,
    )
    dashboard.charts = _charts(dashboard)
    return dashboard


def _loyalty(params: NpsParams) -> list[LoyaltyRow]:
    """Of the relationship series only; not by touchpoint (a customer's loyalty is not one
    touchpoint's), so none under a touchpoint filter rather than figures that ignore it."""
    if params.survey_type != SurveyKind.RELATIONSHIP or params.touchpoint is not None:
        return []
    return loyalty_economics(period=params.period, segment=params.segment, survey=params.survey)


def _with_samples_by_period(periods: list[Period], params: NpsParams) -> list[tuple[Period, NpsCounts, NpsSample]]:
    counts = nps_trend(periods=periods, **params.filters())
    samples = sample_trend(periods=periods, **params.sample_filters())
    for sample, share in zip(samples, revenue_share_trend(periods=periods, **params.filters()), strict=True):
        sample.revenue_share = share
    return [(period, period_counts, sample) for (period, period_counts), sample in zip(counts, samples, strict=True)]


def _with_samples_by_group(params: NpsParams) -> dict[str, list[tuple[str, NpsCounts, NpsSample]]]:
    """Per breakdown: groups with answers, largest first, then groups invited but without an answer
    yet. The three breakdowns' counts in one grouped query (two under `latest`), their samples in
    one, their revenue shares in one statement."""
    breakdowns = {}
    all_counts = nps_breakdowns(period=params.period, bys=BREAKDOWN_KINDS, **params.filters())
    all_samples = sample_breakdowns(period=params.period, bys=BREAKDOWN_KINDS, **params.sample_filters())
    for by in BREAKDOWN_KINDS:
        counts, samples = all_counts[by], all_samples[by]
        answered = {name for name, _ in counts}
        silent = sorted(name for name in samples if name not in answered)
        breakdowns[by] = [(name, group, samples.get(name, NpsSample())) for name, group in counts] + [
            (name, NpsCounts(), samples[name]) for name in silent
        ]
    groups = {by: [name for name, _, _ in rows] for by, rows in breakdowns.items()}
    shares = revenue_share_breakdowns(period=params.period, groups=groups, **params.filters())
    for by, rows in breakdowns.items():
        for name, _, sample in rows:
            sample.revenue_share = shares[by][name]
    return breakdowns


def latest_verbatims(params: NpsParams) -> list[Response]:
    """The latest answers with a comment, unlinked for an anonymous survey (SPEC §1): never its
    customer (the template), nor its touchpoint, segment or language, and none at all under a
    segment or touchpoint filter, which would tie them to that segment or touchpoint again."""
    responses = responses_in(params.period, kind=params.survey_type, survey=params.survey,
                             segment=params.segment, touchpoint=params.touchpoint, counting=params.counting)
    responses = responses_shown_one_by_one(responses, segment=params.segment, touchpoint=params.touchpoint)
    verbatims = list(
        responses.exclude(reason="", suggestion="").select_related("survey", "customer")
        .order_by("-answered_at", "-id")[:VERBATIMS]
    )
    for response in verbatims:
        if response.survey.anonymous:
            _unlink(response)
    return verbatims


def _unlink(response: Response) -> None:
    """Blank, on this read-only copy (never saved), what would tie the answer to its customer:
    the page and its CSV then show an anonymous survey's verbatim without them."""
    response.touchpoint = response.segment = response.language = ""


# --- charts: plotly.js figures, drawn by static/js/charts.js ---------------------------------


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _charts(dashboard: NpsDashboard) -> dict:
    return {"trend": _trend_chart(dashboard.trend), "distribution": _distribution_chart(dashboard.current),
            "loyalty": _loyalty_chart(dashboard.loyalty)}


def _layout(**extra) -> dict:
    return {"margin": {"l": 50, "r": 20, "t": 10, "b": 40}, "height": 300, "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)", "font": {"family": "system-ui, sans-serif", "size": 12}, **extra}


def _margin_band(counts: NpsCounts) -> tuple[float | None, float | None]:
    """NPS ± its margin of error, as the table beside the chart gives them, within the scale's ±100."""
    if counts.nps is None:
        return None, None
    low, high = counts.nps - counts.margin_of_error, counts.nps + counts.margin_of_error
    return _float(max(low, NPS_FLOOR)), _float(min(high, NPS_CEILING))


def _trend_chart(trend: list[tuple[Period, NpsCounts, NpsSample]]) -> dict:
    labels = [str(period) for period, _, _ in trend]
    bands = [_margin_band(counts) for _, counts, _ in trend]
    low, high = [band[0] for band in bands], [band[1] for band in bands]
    return {
        "data": [
            {"x": labels, "y": high, "type": "scatter", "mode": "lines", "line": {"width": 0},
             "hoverinfo": "skip", "showlegend": False},
            {"x": labels, "y": low, "type": "scatter", "mode": "lines", "line": {"width": 0},
             "fill": "tonexty", "fillcolor": COLORS["band"], "name": "± 95% margin of error"},
            {"x": labels, "y": [_float(counts.nps) for _, counts, _ in trend], "type": "scatter",
             "mode": "lines+markers", "name": "NPS", "line": {"color": COLORS["nps"], "width": 3},
             "text": [f"n = {counts.responses} of {sample.delivered} delivered" for _, counts, sample in trend]},
        ],
        "layout": _layout(xaxis={"type": "category"},
                          yaxis={"range": [-100, 100], "title": {"text": "NPS"}, "zeroline": True},
                          legend={"orientation": "h", "y": -0.2}),
    }


def _distribution_chart(report: NpsReport) -> dict:
    if not any(report.distribution):  # no answers: the page says so instead of eleven empty bars
        return {"data": [], "layout": _layout()}
    colors = [COLORS["detractor"]] * 7 + [COLORS["passive"]] * 2 + [COLORS["promoter"]] * 2
    return {
        "data": [{"x": [str(score) for score in range(11)], "y": report.distribution, "type": "bar",
                  "marker": {"color": colors}, "name": "Answers"}],
        "layout": _layout(xaxis={"title": {"text": "Score"}, "type": "category"}, yaxis={"title": {"text": "Answers"}}),
    }


def _loyalty_chart(rows: list[LoyaltyRow]) -> dict:
    if not rows:
        return {"data": [], "layout": _layout()}
    labels = [row.category.capitalize() + "s" for row in rows]
    return {
        "data": [
            {"x": labels, "y": [_float(row.nrr and row.nrr * 100) for row in rows], "type": "bar",
             "name": "Revenue next period ÷ this period (%)", "marker": {"color": COLORS["nps"]}},
            {"x": labels, "y": [_float(row.churn_rate and row.churn_rate * 100) for row in rows], "type": "bar",
             "name": "Churned (% of customers)", "marker": {"color": COLORS["detractor"]}},
        ],
        "layout": _layout(barmode="group", yaxis={"title": {"text": "%"}}, legend={"orientation": "h", "y": -0.2}),
    }
