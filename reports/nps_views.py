"""The NPS dashboard (SPEC §5): headline with margin and sample, trend with its band, the 0–10
distribution, breakdowns, latest verbatims, integrity flags and loyalty economics; a CSV of every
table (`?format=csv&table=<name>`).

Each CSV states its scope, since two downloads of one period look alike otherwise: the file name
carries the series and the counting rule, and constant columns carry the series, the counting rule
and the segment, touchpoint and survey filters (as the API's JSON), bar the one a breakdown's own
first column already names.

Without a period in the URL the page opens on the last complete quarter, as earned growth does,
unless that quarter holds no answer and the running one does (a company's first answers): then on
the running quarter, saying it is in progress and linking to the quarter it stands in for. Links
to the previous and next period keep every other filter."""

from urllib.parse import urlencode

from django import forms
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from cxplatform.text import CanonicalCharField, CanonicalChoiceField, canonical_text
from surveys.models import Response, SuppressionReason, Survey, SurveyKind

from . import nps_formulas as f
from .csv_export import csv_datetime, csv_response
from .nps import ALL, COUNTING_RULES, LATEST, series_conflict
from .nps_dashboard import NpsDashboard, NpsParams, nps_dashboard
from .periods import Period, parse_period, period_nav
from .segments import nps_segments
from .selectors import NpsOpening, default_period, nps_opening
from .views import requires

TEMPLATE = "reports/nps.html"
TABLES = ("trend", "sample", "distribution", "segments", "touchpoints", "surveys", "verbatims", "integrity",
          "loyalty")
TOUCHPOINT_LENGTH = Response._meta.get_field("touchpoint").max_length


class NpsForm(forms.Form):
    period = forms.CharField(max_length=10, widget=forms.TextInput(attrs={"placeholder": "2025, 2025-Q3 or 2025-07",
                                                                          "size": 10}))
    type = forms.ChoiceField(label="Series", choices=SurveyKind.choices, required=False)
    survey = forms.ModelChoiceField(queryset=Survey.objects.order_by("name"), required=False,
                                    empty_label="All surveys of the series")
    segment = CanonicalChoiceField(required=False)
    touchpoint = CanonicalCharField(max_length=TOUCHPOINT_LENGTH, required=False,
                                    widget=forms.TextInput(attrs={"placeholder": "All touchpoints", "size": 12}))
    counting = forms.ChoiceField(choices=[(ALL, "Every answer"), (LATEST, "Latest per customer")], required=False)
    format = forms.ChoiceField(required=False, choices=[("", "HTML"), ("csv", "CSV")])
    table = forms.ChoiceField(required=False, choices=[("", "")] + [(name, name) for name in TABLES])

    def __init__(self, data, *, segments: list[str]):
        data = data.copy()
        data.setdefault("period", str(default_period()))
        super().__init__(data)
        self.fields["segment"].choices = [("", "All segments")] + [(name, name) for name in segments]

    def clean_period(self):
        try:
            return parse_period(self.cleaned_data["period"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean(self):
        data = super().clean()
        if conflict := series_conflict(data.get("survey"), data.get("type")):
            self.add_error("type", conflict)  # else the page reports one series while the form shows the other
        return data

    def show_period(self, period: Period) -> None:
        """Open on `period` rather than the default one: the period field shows what the page does."""
        self.data["period"] = str(period)  # the copy made in __init__, not request.GET
        self.cleaned_data["period"] = period

    def params(self) -> NpsParams:
        data = self.cleaned_data
        survey = data["survey"]
        return NpsParams(
            period=data["period"],
            survey_type=survey.kind if survey else (data["type"] or SurveyKind.RELATIONSHIP),
            survey=survey, segment=data["segment"] or None, touchpoint=data["touchpoint"] or None,
            counting=data["counting"] if data["counting"] in COUNTING_RULES else ALL,
        )


@require_safe
@requires("reports.view_reports")
def nps(request):
    form = NpsForm(request.GET, segments=nps_segments(canonical_text(request.GET.get("segment", ""))))
    if not form.is_valid():
        if request.GET.get("format") == "csv":
            return HttpResponseBadRequest("\n".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
                                          content_type="text/plain; charset=utf-8")
        return render(request, TEMPLATE, {"form": form}, status=400)
    opening = _opening(form) if "period" not in request.GET else None
    dashboard = nps_dashboard(form.params())
    if form.cleaned_data["format"] == "csv":
        name = form.cleaned_data["table"] or TABLES[0]
        header, rows = TABLE_BUILDERS[name](dashboard)
        return csv_response(csv_filename(name, dashboard.params), header, rows)
    # Every link names the period shown, so it keeps showing it whatever the default becomes.
    query = {key: value for key, value in request.GET.items() if key not in ("format", "table")}
    query["period"] = str(dashboard.params.period)
    context = {
        "form": form, "params": dashboard.params, "dashboard": dashboard,
        "headline": _headline(dashboard), "csv_query": urlencode(query | {"format": "csv"}),
        # A breakdown row links to the page filtered to it: the same query, that filter replaced.
        "segment_query": _query_without(query, "segment"), "touchpoint_query": _query_without(query, "touchpoint"),
        "nav": period_nav(dashboard.params.period, lambda other: query | {"period": str(other)}), "opening": opening,
        "in_progress": dashboard.params.period.start <= timezone.localdate() <= dashboard.params.period.end,
        "data": {"charts": dashboard.charts},
    }
    if opening and opening.instead_of:
        context["instead_of_query"] = urlencode(query | {"period": str(opening.instead_of)})
    return render(request, TEMPLATE, context)


def _opening(form: NpsForm) -> NpsOpening:
    """The period the page opens on when none is asked for (see the module's docstring); the form
    then shows it. One aggregate query."""
    scope = form.params()
    opening = nps_opening(survey_type=scope.survey_type, survey=scope.survey, segment=scope.segment,
                          touchpoint=scope.touchpoint)
    if opening.instead_of is not None:
        form.show_period(opening.period)
    return opening


def _query_without(query: dict, key: str) -> str:
    rest = urlencode({name: value for name, value in query.items() if name != key})
    return f"{rest}&" if rest else ""


def csv_filename(table: str, params: NpsParams) -> str:
    """e.g. nps-trend-2025-Q2-transactional-latest.csv: the series and counting rule always named,
    so the files of one period never share a name across them."""
    return f"nps-{table}-{params.period}-{params.survey_type}-{params.counting}.csv"


def _headline(dashboard: NpsDashboard) -> dict:
    current, prior, change = dashboard.current, dashboard.prior, dashboard.change
    interval = current.counts.interval
    return {
        "nps": f.shown(current.counts.nps), "exact": f.shown(current.counts.nps, 2),
        "margin": f.shown(current.counts.margin_of_error, 1),
        "ci": (f.shown(interval[0], 1), f.shown(interval[1], 1)) if interval else None,
        "prior_nps": f.shown(prior.counts.nps), "prior_margin": f.shown(prior.counts.margin_of_error, 1),
        "change": f.shown(change.difference, 1), "combined_margin": f.shown(change.combined_margin, 1),
        "significant": change.significant, "too_few": change.too_few, "min_to_judge": f.MIN_RESPONSES_TO_JUDGE,
        # The margin formula reads ±0.0 at one answer: at a small sample it is no sign of precision.
        "too_few_for_margin": current.counts.responses < f.MIN_RESPONSES_TO_JUDGE,
        "response_rate": current.sample.response_rate, "revenue_share": current.revenue_share,
        "suppressed": [(label.lower(), n) for label, n in current.sample.suppressed_by_label],
    }


# --- CSV tables: (header, rows) built from the same dashboard the page shows -------------------------


# Figures go into the CSV as numbers (Decimal): a negative NPS written as text would be quoted as
# a would-be formula ('-33.3333) and read as text by spreadsheets.
def _counts_row(counts):
    interval = counts.interval
    return [counts.responses, counts.promoters, counts.passives, counts.detractors,
            f.quantized(counts.nps), f.quantized(counts.margin_of_error),
            f.quantized(interval[0]) if interval else None, f.quantized(interval[1]) if interval else None]


COUNT_HEADER = ["responses", "promoters", "passives", "detractors", "nps", "margin_of_error", "ci_low", "ci_high"]
# SPEC §5's sample, the suppressed invitations by reason too, as the API's JSON gives it.
SAMPLE_HEADER = ["invited", "suppressed", *(f"suppressed_{reason}" for reason in SuppressionReason.values),
                 "delivered", "bounced", "failed", "responded", "response_rate", "revenue_share_of_respondents"]


def _sample_row(sample):
    return [sample.invited, sample.suppressed_total,
            *(sample.suppressed.get(reason, 0) for reason in SuppressionReason.values),
            sample.delivered, sample.bounced, sample.failed, sample.responded,
            f.quantized(sample.response_rate), f.quantized(sample.revenue_share)]


def _with_scope(header, rows, params: NpsParams, *, omit=(), counting=None):
    """The table with the report's scope in constant columns (a filter left empty: all of them).
    `omit`: the filters a per-row column of the table already names."""
    scope = {
        "survey_type": params.survey_type, "counting": counting or params.counting, "segment": params.segment,
        "touchpoint": params.touchpoint, "survey": params.survey.pk if params.survey else None,
    }
    scope = {name: value for name, value in scope.items() if name not in omit}
    return [*header, *scope], ([*row, *scope.values()] for row in rows)


def _trend(d):
    return _with_scope(["period", *COUNT_HEADER, *SAMPLE_HEADER], (
        [str(period), *_counts_row(counts), *_sample_row(sample)] for period, counts, sample in d.trend
    ), d.params)


def _headline_sample(d):
    current = d.current
    return _with_scope(["period", *COUNT_HEADER, *SAMPLE_HEADER], [
        [str(current.period), *_counts_row(current.counts), *_sample_row(current.sample)]
    ], d.params)


def _distribution(d):
    return _with_scope(["score", "answers"], ([score, n] for score, n in enumerate(d.current.distribution)), d.params)


def _breakdown(by):
    def build(d):
        return _with_scope([by, *COUNT_HEADER, *SAMPLE_HEADER], (
            [name, *_counts_row(counts), *_sample_row(sample)] for name, counts, sample in d.breakdowns[by]
        ), d.params, omit=(by,))
    return build


def _verbatims(d):
    # Never the customer: the dashboard's verbatims are unlinked, whatever the survey.
    header = ["answered_at", "survey", "score", "category", "reason", "suggestion", "touchpoint", "segment"]
    return _with_scope(header, ([csv_datetime(r.answered_at), r.survey.name, r.score, r.category, r.reason,
                                 r.suggestion, r.touchpoint, r.segment] for r in d.verbatims),
                       d.params, omit=("survey", "touchpoint", "segment"))


def _integrity(d):
    return _with_scope(["flag", "raised", "detail", "evidence"], (
        [flag.title, flag.raised, flag.detail, " | ".join(label for label, _ in flag.links)] for flag in d.flags
    ), d.params)


def _loyalty(d):
    # next_period_complete false: next_revenue and churn are so far, the next period not being over.
    header = ["category", "customers", "revenue", "next_revenue", "nrr", "churned_customers", "churned_revenue",
              "referrals", "referred_revenue", "next_period_complete"]
    rows = ([row.category, row.customers, row.revenue, row.next_revenue, f.quantized(row.nrr),
             row.churned_customers, row.churned_revenue, row.referrals, row.referred_revenue,
             row.next_period_complete] for row in d.loyalty)
    # Loyalty economics count each customer's latest answer, whatever the page's counting rule.
    return _with_scope(header, rows, d.params, counting=LATEST)


TABLE_BUILDERS = {
    "trend": _trend, "sample": _headline_sample, "distribution": _distribution, "segments": _breakdown("segment"),
    "touchpoints": _breakdown("touchpoint"), "surveys": _breakdown("survey"), "verbatims": _verbatims,
    "integrity": _integrity, "loyalty": _loyalty,
}
