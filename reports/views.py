"""The earned-growth dashboard (SPEC §3, §6): headline figures, revenue bridge, trend, segments.

Views are thin: parse the query string, call the dashboard selectors, then render the page (chart
data goes to static/js/charts.js through `json_script`) or stream one table as CSV. Rates are
exact in the snapshots (as in the live segment table) and rounded once, here, for display only, so
the headline, trend and segments show one figure alike (snapshots stored before that hold 6
places until recomputed). The CSVs give rates as the API's JSON does, to 6 places.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST, require_safe

from accounting.models import RevenueEntry
from accounting.selectors import customer_segments
from cxplatform.text import CanonicalChoiceField

from . import selectors
from .csv_export import csv_datetime, csv_response
from .earned_growth import CUSTOMER, ENTITY, EarnedGrowth, rate_text
from .fingerprints import reclassified
from .models import SnapshotCompare, SnapshotStatus
from .periods import parse_period, period_nav
from .snapshots import snapshot_request

TEMPLATE = "reports/earned_growth.html"
TABLES = ("bridge", "trend", "segments")
FIRST_YEAR = 1900
COLORS = {
    "nrr": "#1f5fbf",
    "enc": "#1e7b3a",
    "egr": "#c26a00",
    "up": "#1e7b3a",
    "down": "#b3261e",
    "total": "#16243d",
    "upper": "#8a93a3",
}
PERCENT_PLACES = Decimal("0.1")


def requires(perm: str):
    """Staff-only view: anonymous users go to the login page, users without `perm` get a 403."""

    def decorator(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorator


# --- the options form -----------------------------------------------------------------------------


class DashboardForm(forms.Form):
    period = forms.CharField(
        label="Period",
        max_length=10,
        widget=forms.TextInput(attrs={"placeholder": "2025, 2025-Q3 or 2025-07", "size": 10}),
    )
    compare = forms.ChoiceField(label="Compare with", choices=SnapshotCompare.choices)
    grain = forms.ChoiceField(label="Grain", choices=[(ENTITY, "Customer entity"), (CUSTOMER, "Customer")])
    segment = CanonicalChoiceField(label="Segment", required=False)
    format = forms.ChoiceField(required=False, choices=[("", "HTML"), ("csv", "CSV")])
    table = forms.ChoiceField(required=False, choices=[("", "")] + [(name, name) for name in TABLES])

    def __init__(self, data, *, segments: list[str]):
        data = data.copy()  # the defaults fill the form, so the page shows what it reports on
        for name, default in self.defaults().items():
            if not data.get(name):
                data[name] = default
        super().__init__(data)
        self.fields["segment"].choices = [("", "All segments")] + [(name, name) for name in segments]

    @staticmethod
    def defaults() -> dict:
        return {"period": str(selectors.default_period()), "compare": SnapshotCompare.PRIOR, "grain": ENTITY}

    def clean_period(self):
        try:
            period = parse_period(self.cleaned_data["period"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error
        if period.start.year < FIRST_YEAR or period.start > timezone.localdate():
            raise forms.ValidationError(f"{period} has not started yet, or is too long ago.")
        return period

    def params(self) -> selectors.DashboardParams:
        data = self.cleaned_data
        return selectors.DashboardParams(
            period=data["period"], compare=data["compare"], grain=data["grain"], segment=data["segment"] or ""
        )


def _bad_request(request, form) -> HttpResponse:
    """The page with the errors, a refused Recompute too (a person pressed it); a CSV download, text."""
    if request.method == "POST":
        messages.error(request, "Nothing was recomputed: correct the options below.")
    elif request.GET.get("format") == "csv":
        errors = "\n".join(f"{field}: {' '.join(problems)}" for field, problems in form.errors.items())
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    return render(request, TEMPLATE, {"form": form}, status=400)


def _dashboard_url(params: selectors.DashboardParams) -> str:
    return f"{reverse('reports:earned-growth')}?{urlencode(params.query())}"


# --- the views ------------------------------------------------------------------------------------


@require_safe
@requires("reports.view_reports")
def earned_growth(request):
    form = DashboardForm(request.GET, segments=customer_segments())
    if not form.is_valid():
        return _bad_request(request, form)
    params = form.params()
    dashboard = selectors.earned_growth_dashboard(params)
    if form.cleaned_data["format"] == "csv":
        return _csv(form.cleaned_data["table"] or TABLES[0], params, dashboard)
    bridge = selectors.revenue_bridge(dashboard.current)
    notes = {name: Footnotes(f"{name}-note") for name in ("headline", "trend", "segments")}
    headline = _headline(dashboard, notes["headline"])
    trend = [_trend_row(item, notes["trend"]) for item in dashboard.trend]
    segment_rows = [_segment_row(report, notes["segments"]) for report in selectors.dashboard_segments(params)]
    context = {
        "form": form,
        "params": params,
        "dashboard": dashboard,
        "headline": headline,
        "notes": notes,
        "bridge": bridge,
        "trend": trend,
        "segments": segment_rows,
        "known_reason": _known_reason(dashboard.current),
        "restatement": _restatement(dashboard.current),
        "reactivated": dashboard.current.money("reactivated_revenue"),
        "bridge_floor": bridge_axis_floor(bridge) if bridge else None,
        "csv_query": urlencode(params.query() | {"format": "csv"}),
        "nav": period_nav(params.period, lambda other: replace(params, period=other).query()),
        "data": {"charts": _charts(bridge, trend, segment_rows)},
        # First use: the figures are all "—", and the page says why instead of leaving it to guess.
        "ledger_empty": not RevenueEntry.objects.exists(),
    }
    return render(request, TEMPLATE, context)


@require_POST
@requires("reports.recompute_reportsnapshot")
def earned_growth_recompute(request):
    """Recompute the chosen period's snapshot, and any stale, failed or missing one the page shows."""
    form = DashboardForm(request.POST, segments=customer_segments())
    if not form.is_valid():
        return _bad_request(request, form)
    params = form.params()
    periods = selectors.dashboard_recompute_periods(params)
    for period in periods:
        snapshot_request(
            period=period, compare=params.compare, grain=params.grain, segment=params.segment, user=request.user
        )
    found = selectors.dashboard_snapshots(params)
    statuses = [found[period].status for period in periods if period in found]
    others = f" and {len(periods) - 1} other period{'s' if len(periods) > 2 else ''}" if len(periods) > 1 else ""
    if SnapshotStatus.FAILED in statuses:  # computed within the request (eager mode), and it failed
        messages.error(request, f"Recompute of {params.period}{others} failed: see the error on the page.")
    elif all(status == SnapshotStatus.DONE for status in statuses):
        messages.success(request, f"Recomputed {params.period}{others}.")
    else:
        messages.info(request, f"Recompute of {params.period}{others} requested: the figures update when it is done.")
    return redirect(_dashboard_url(params))


# --- display --------------------------------------------------------------------------------------


def percent(value: Decimal | None) -> str | None:
    """A rate as a percentage with one decimal, for display only ("+ 0" turns -0.0 into 0.0)."""
    if value is None:
        return None
    return f"{(value * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP) + 0}%"


# Which of the engine's notes explains a null figure: the one naming it, else the R_P = 0 one.
NOTE_WORDS = {"earned_growth_share": "earned growth share", "known_reason_share": "known reason"}


def null_reason(key: str, notes: list[str]) -> str:
    words = NOTE_WORDS.get(key)
    for note in notes:
        if words and words in note:
            return note
    for note in notes:
        if "every ratio" in note:
            return note
    return " ".join(notes) or "Undefined for this period."


class Footnotes:
    """The reasons for a section's null figures, each written once and pointed to by number."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.texts: list[str] = []

    def number(self, text: str) -> int:
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1

    def __iter__(self):
        return ((f"{self.prefix}-{n}", n, text) for n, text in enumerate(self.texts, start=1))


@dataclass
class Cell:
    value: Decimal | None = None
    text: str = ""  # a rate's display; money is formatted by the template
    money: bool = False
    reason: str = ""  # why the value is null
    note: int = 0  # the reason's footnote number
    note_id: str = ""
    state: str = ""  # "pending", "not computed" or "failed" when the snapshot has no figures (_state)


def _state(item: selectors.PeriodFigures) -> str:
    """What a period without figures shows: failed, not computed (too old to be asked for on a
    page view: use Recompute), or pending."""
    if item.status == SnapshotStatus.FAILED:
        return "failed"
    return "not computed" if item.status == selectors.NOT_COMPUTED else "pending"


def _null(reason: str, notes: Footnotes) -> Cell:
    number = notes.number(reason)
    return Cell(reason=reason, note=number, note_id=f"{notes.prefix}-{number}")


def _cell(item: selectors.PeriodFigures, key: str, notes: Footnotes, *, money: bool = False) -> Cell:
    if not item.ready:
        return Cell(state=_state(item))
    value = item.money(key) if money else item.rate(key)
    if value is None:
        return _null(f"{item.period}: {null_reason(key, item.notes)}", notes)
    return Cell(value=value, text="" if money else percent(value), money=money)


HEADLINE = (
    ("nrr", "Net revenue retention", "Revenue from the prior period's customers ÷ prior revenue."),
    ("grr", "Gross revenue retention", "Retention without expansion: each customer counts at most its prior revenue."),
    ("enc", "Earned new customers (ENC)", "Revenue of new customers who came by an earned reason ÷ prior revenue."),
    ("bnc", "Bought new customers (BNC)", "Revenue of new customers who came by a bought reason ÷ prior revenue."),
    ("earned_growth_rate", "Earned growth rate", "NRR + ENC − 100%."),
    (
        "earned_growth_rate_if_unknown_earned",
        "Earned growth, upper bound",
        "With every new customer of unknown reason counted as earned.",
    ),
    ("total_growth_rate", "Total growth", "Revenue ÷ prior revenue − 100%."),
    ("earned_growth_share", "Earned growth share", "Earned growth ÷ total growth, when total growth is above 0."),
)


def _headline(dashboard: selectors.Dashboard, notes: Footnotes) -> list[dict]:
    current, prior = dashboard.current, dashboard.prior
    rows = [
        {
            "key": "revenue",
            "label": "Revenue",
            "help": "Ledger revenue dated in the period.",
            "current": _cell(current, "revenue", notes, money=True),
            "prior": _cell(current, "prior_revenue", notes, money=True),  # R_P is the prior period's revenue
        }
    ]
    for key, label, help_text in HEADLINE:
        cells = {"current": _cell(current, key, notes), "prior": _cell(prior, key, notes)}
        rows.append({"key": key, "label": label, "help": help_text, **cells})
    return rows


def _known_reason(item: selectors.PeriodFigures) -> dict | None:
    """The unknown-reason warning, when under 80% of new revenue has a known acquisition reason."""
    if not item.unknown_reason_warning:
        return None
    share = item.rate("known_reason_share")
    return {"unknown_share": percent(1 - share), "unknown_revenue": item.money("unknown_new_revenue")}


def _restatement(item: selectors.PeriodFigures) -> dict | None:
    """The figures a change of reason classification replaced: when, and the rate they gave."""
    restated = item.snapshot.restated_from if item.snapshot is not None else None
    if not restated:
        return None
    was = restated["figures"].get("earned_growth_rate")
    changed = reclassified(restated["fingerprint"], item.snapshot.fingerprint)
    return {
        "restated_at": _local_day(restated["restated_at"]),
        "computed_at": _local_day(restated["computed_at"]),
        "was": percent(None if was is None else Decimal(was)),
        "changed": changed,
    }


def _local_day(stamp: str | None) -> str:
    """The company's day of a stored UTC ISO time (its first ten characters are the UTC day)."""
    if not stamp:
        return ""
    return timezone.localdate(datetime.fromisoformat(stamp)).isoformat()


TREND_KEYS = ("nrr", "enc", "earned_growth_rate")


def _trend_row(item: selectors.PeriodFigures, notes: Footnotes) -> dict:
    state = "" if item.ready else _state(item)
    values = {key: _cell(item, key, notes) for key in TREND_KEYS}
    return {"period": str(item.period), "item": item, "state": state, "values": values}


SEGMENT_RATES = (
    "nrr",
    "grr",
    "enc",
    "bnc",
    "earned_growth_rate",
    "earned_growth_rate_if_unknown_earned",
    "total_growth_rate",
    "known_reason_share",
)


def _segment_row(report: EarnedGrowth, notes: Footnotes) -> dict:
    cells = {}
    for key in SEGMENT_RATES:
        value = getattr(report, key)
        if value is None:
            cells[key] = _null(null_reason(key, report.notes), notes)
        else:
            cells[key] = Cell(value=value, text=percent(value))  # exact, as the headline's
    return {"segment": report.segment, "report": report, "cells": cells}


# --- charts (plotly.js figures, drawn by static/js/charts.js) ------------------------------


def chart_text(text: str) -> str:
    """Plotly reads a few HTML tags (even links) in labels; segment names are plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(value) -> float | None:
    return None if value is None else float(value)


def _charts(bridge: selectors.Bridge | None, trend: list[dict], segments: list[dict]) -> dict:
    charts = {"trend": _trend_chart(trend)}
    if bridge is not None:
        charts["bridge"] = _bridge_chart(bridge, bridge_axis_floor(bridge))
    if segments:
        charts["segments"] = _segments_chart(segments)
    return charts


def compact(amount: Decimal, *, signed: bool = False) -> str:
    """A bar label: 2.63M, +160.5k, -950.00; the table beside the chart has the exact amount.

    Rounded half away from zero, as every figure shown (format() alone rounds half to even:
    2,625,000 was 2.62M)."""
    sign = "+" if signed else ""
    for size, suffix in ((Decimal(10**9), "bn"), (Decimal(10**6), "M"), (Decimal(10**3), "k")):
        if abs(amount) >= size:
            places = Decimal("0.1") if suffix == "k" else Decimal("0.01")
            return f"{(amount / size).quantize(places, rounding=ROUND_HALF_UP):{sign},f}{suffix}"
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):{sign},f}"


def bridge_axis_floor(bridge: selectors.Bridge) -> Decimal | None:
    """Where the bridge's y axis starts when 0 would flatten the steps into slivers, else None.

    The steps are often a few percent of the revenue: starting the axis under the lowest level
    keeps them readable. The page says so beside the chart; the ends' bars are then cut.
    """
    levels = list(accumulate(step.amount for step in bridge.steps[:-1])) + [bridge.end]
    low, high = min(levels), max(levels)
    floor = low - (high - low) * Decimal("0.6")
    if low <= 0 or floor <= low / 2:
        return None
    magnitude = Decimal(10) ** (len(str(int(floor))) - 2)  # two significant digits, rounded down
    return (floor // magnitude) * magnitude


def _bridge_chart(bridge: selectors.Bridge, floor: Decimal | None) -> dict:
    if not any(step.amount for step in bridge.steps):  # no revenue either side: nothing to bridge
        return {"data": [], "layout": {}}
    trace = {
        "type": "waterfall",
        "measure": [step.measure for step in bridge.steps],
        "x": [step.label.replace(" ", "<br>") for step in bridge.steps],
        "y": [float(step.amount) for step in bridge.steps],
        "text": [compact(step.amount, signed=step.measure == "relative") for step in bridge.steps],
        "customdata": [f"{step.amount:,.2f}" for step in bridge.steps],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{customdata}<extra></extra>",
        "connector": {"line": {"color": "#9aa3b2"}},
        "increasing": {"marker": {"color": COLORS["up"]}},
        "decreasing": {"marker": {"color": COLORS["down"]}},
        "totals": {"marker": {"color": COLORS["nrr"]}},
    }
    yaxis = {"tickformat": ",.0f", "automargin": True}
    if floor is None:
        yaxis["rangemode"] = "tozero"
    else:
        levels = list(accumulate(step.amount for step in bridge.steps[:-1])) + [bridge.end]
        yaxis["range"] = [float(floor), float(max(levels) + (max(levels) - floor) * Decimal("0.08"))]
    layout = {
        "margin": {"t": 30, "r": 10, "b": 50, "l": 80},
        "height": 360,
        "showlegend": False,
        "yaxis": yaxis,
        "xaxis": {"automargin": True, "tickangle": 0},
    }
    return {"data": [trace], "layout": layout}


def _trend_chart(trend: list[dict]) -> dict:
    """NRR above, ENC and the earned growth rate below, on a shared period axis: NRR sits near 100%
    and the others near 0%, so one axis would flatten the lines that matter."""
    series = (
        ("nrr", "NRR", COLORS["nrr"], "y"),
        ("enc", "ENC", COLORS["enc"], "y2"),
        ("earned_growth_rate", "Earned growth rate", COLORS["egr"], "y2"),
    )
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": [row["period"] for row in trend],
            "y": [_number(row["values"][key].value) for row in trend],
            "yaxis": axis,
            "line": {"color": color},
            "hovertemplate": f"{name} %{{x}}: %{{y:.1%}}<extra></extra>",
        }
        for key, name, color, axis in series
    ]
    layout = {
        "margin": {"t": 10, "r": 10, "b": 40, "l": 60},
        "height": 380,
        "legend": {"orientation": "h", "y": -0.15},
        "xaxis": {"type": "category", "anchor": "y2"},
        "yaxis": {"domain": [0.58, 1], "tickformat": ".0%", "title": {"text": "NRR"}},
        "yaxis2": {
            "domain": [0, 0.48],
            "tickformat": ".0%",
            "title": {"text": "ENC, earned growth"},
            "zeroline": True,
            "zerolinecolor": "#9aa3b2",
        },
    }
    return {"data": traces, "layout": layout}


def _segments_chart(segments: list[dict]) -> dict:
    labels = [chart_text(row["segment"] or "(no segment)") for row in segments]
    series = (
        ("earned_growth_rate", "Earned growth rate", COLORS["egr"]),
        ("earned_growth_rate_if_unknown_earned", "Upper bound (unknown as earned)", COLORS["upper"]),
        ("total_growth_rate", "Total growth", COLORS["total"]),
    )
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": labels,
            "x": [_number(row["cells"][key].value) for row in segments],
            "marker": {"color": color},
            "hovertemplate": f"%{{y}} {name}: %{{x:.1%}}<extra></extra>",
        }
        for key, name, color in series
    ]
    layout = {
        "barmode": "group",
        "margin": {"t": 10, "r": 10, "b": 50, "l": 10},
        "legend": {"orientation": "h", "y": -0.15},
        "xaxis": {"tickformat": ".0%", "zeroline": True, "zerolinecolor": "#9aa3b2"},
        "yaxis": {"autorange": "reversed", "automargin": True},
        "height": max(300, 70 * len(segments) + 110),
    }
    return {"data": traces, "layout": layout}


# --- CSV ------------------------------------------------------------------------------------------


SEGMENT_COLUMNS = (
    "prior_revenue",
    "revenue",
    "retained_revenue",
    "expansion_revenue",
    "contraction_revenue",
    "churned_revenue",
    "earned_new_revenue",
    "bought_new_revenue",
    "unknown_new_revenue",
    "reactivated_revenue",
    "nrr",
    "grr",
    "enc",
    "bnc",
    "unc",
    "earned_growth_rate",
    "earned_growth_rate_if_unknown_earned",
    "total_growth_rate",
    "earned_growth_share",
    "known_reason_share",
)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _segment_csv_rows(segments: list[EarnedGrowth]):
    for report in segments:
        figures = report.as_json()
        yield [report.segment, *(_decimal(figures[key]) for key in SEGMENT_COLUMNS)]


def _csv(table: str, params: selectors.DashboardParams, dashboard: selectors.Dashboard) -> HttpResponse:
    segment = f"-{slugify(params.segment) or 'segment'}" if params.segment else ""
    name = f"earned-growth-{table}-{params.period}-{params.compare}-{params.grain}{segment}.csv"
    if table == "bridge":
        bridge = selectors.revenue_bridge(dashboard.current)
        header = ["step", "measure", "amount"]
        rows = ([step.label, step.measure, step.amount] for step in (bridge.steps if bridge else []))
    elif table == "trend":
        header = ["period", "status", "stale", "computed_at", "nrr", "enc", "earned_growth_rate"]
        rows = (
            [
                str(item.period),
                item.status,
                item.stale if item.ready else None,
                csv_datetime(item.snapshot.computed_at) if item.snapshot else None,
                *(_decimal(rate_text(item.rate(key))) for key in TREND_KEYS),  # 6 places, as the segment CSV
            ]
            for item in dashboard.trend
        )
    else:
        header = ["segment", *SEGMENT_COLUMNS]
        rows = _segment_csv_rows(selectors.dashboard_segments(params))
    return csv_response(name, header, rows)
