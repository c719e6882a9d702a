"""The NPS dashboard (SPEC §5): headline with margin and sample, trend with its band, the 0–10
distribution, breakdowns, latest verbatims, integrity flags and loyalty economics; a CSV of every
table (`?format=csv&table=<name>`)."""

from urllib.parse import urlencode

from django import forms
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_safe

from surveys.models import SuppressionReason, Survey, SurveyKind

from . import nps_formulas as f
from .csv_export import csv_datetime, csv_response
from .nps import ALL, COUNTING_RULES, LATEST, series_conflict
from .nps_dashboard import NpsDashboard, NpsParams, nps_dashboard
from .periods import parse_period
from .segments import nps_segments
from .selectors import default_period
from .views import requires

TEMPLATE = "reports/nps.html"
TABLES = ("trend", "distribution", "segments", "touchpoints", "surveys", "verbatims", "integrity", "loyalty")


class NpsForm(forms.Form):
    period = forms.CharField(max_length=10, widget=forms.TextInput(attrs={"placeholder": "2025, 2025-Q3 or 2025-07",
                                                                          "size": 10}))
    type = forms.ChoiceField(label="Series", choices=SurveyKind.choices, required=False)
    survey = forms.ModelChoiceField(queryset=Survey.objects.order_by("name"), required=False,
                                    empty_label="All surveys of the series")
    segment = forms.ChoiceField(required=False)
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

    def params(self) -> NpsParams:
        data = self.cleaned_data
        survey = data["survey"]
        return NpsParams(
            period=data["period"],
            survey_type=survey.kind if survey else (data["type"] or SurveyKind.RELATIONSHIP),
            survey=survey, segment=data["segment"] or None,
            counting=data["counting"] if data["counting"] in COUNTING_RULES else ALL,
        )


@require_safe
@requires("reports.view_reports")
def nps(request):
    form = NpsForm(request.GET, segments=nps_segments(request.GET.get("segment", "")))
    if not form.is_valid():
        if request.GET.get("format") == "csv":
            return HttpResponseBadRequest("\n".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
                                          content_type="text/plain; charset=utf-8")
        return render(request, TEMPLATE, {"form": form}, status=400)
    dashboard = nps_dashboard(form.params())
    if form.cleaned_data["format"] == "csv":
        name = form.cleaned_data["table"] or TABLES[0]
        header, rows = TABLE_BUILDERS[name](dashboard)
        return csv_response(f"nps-{name}-{dashboard.params.period}.csv", header, rows)
    query = {key: value for key, value in request.GET.items() if key not in ("format", "table")}
    context = {
        "form": form, "params": dashboard.params, "dashboard": dashboard,
        "headline": _headline(dashboard), "csv_query": urlencode(query | {"format": "csv"}),
        "data": {"charts": dashboard.charts},
    }
    return render(request, TEMPLATE, context)


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
        "response_rate": current.sample.response_rate, "revenue_share": current.revenue_share,
        "suppressed": [(SuppressionReason(reason).label.lower(), n) for reason, n in current.sample.suppressed.items()
                       if n],
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
SAMPLE_HEADER = ["invited", "suppressed", "delivered", "bounced", "failed", "responded", "response_rate"]


def _sample_row(sample):
    return [sample.invited, sample.suppressed_total, sample.delivered, sample.bounced, sample.failed,
            sample.responded, f.quantized(sample.response_rate)]


def _trend(d):
    return ["period", *COUNT_HEADER, *SAMPLE_HEADER], (
        [str(period), *_counts_row(counts), *_sample_row(sample)] for period, counts, sample in d.trend
    )


def _distribution(d):
    return ["score", "answers"], enumerate(d.current.distribution)


def _breakdown(by):
    def build(d):
        return [by, *COUNT_HEADER, *SAMPLE_HEADER], (
            [name, *_counts_row(counts), *_sample_row(sample)] for name, counts, sample in d.breakdowns[by]
        )
    return build


def _verbatims(d):
    # Never the customer: the dashboard's verbatims are unlinked, whatever the survey.
    header = ["answered_at", "survey", "score", "category", "reason", "suggestion", "touchpoint", "segment"]
    return header, ([csv_datetime(r.answered_at), r.survey.name, r.score, r.category, r.reason, r.suggestion,
                     r.touchpoint, r.segment] for r in d.verbatims)


def _integrity(d):
    return ["flag", "raised", "detail", "evidence"], (
        [flag.title, flag.raised, flag.detail, " | ".join(label for label, _ in flag.links)] for flag in d.flags
    )


def _loyalty(d):
    header = ["category", "customers", "revenue", "next_revenue", "nrr", "churned_customers", "churned_revenue",
              "referrals", "referred_revenue"]
    return header, ([row.category, row.customers, row.revenue, row.next_revenue, f.quantized(row.nrr),
                     row.churned_customers, row.churned_revenue, row.referrals, row.referred_revenue]
                    for row in d.loyalty)


TABLE_BUILDERS = {
    "trend": _trend, "distribution": _distribution, "segments": _breakdown("segment"),
    "touchpoints": _breakdown("touchpoint"), "surveys": _breakdown("survey"), "verbatims": _verbatims,
    "integrity": _integrity, "loyalty": _loyalty,
}
