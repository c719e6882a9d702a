"""Staff pages for the earned vs bought cohorts and the referrals, each table with a chart and a CSV.

Views are thin: parse the query string, call the report, then render the page (the data for the
charts goes to static/js/charts.js through `json_script`) or stream one table as CSV.
"""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from accounting.selectors import customer_segments

from .cohorts import AGES, CohortReport, cohort_report
from .csv_export import csv_response
from .earned_growth import CUSTOMER, ENTITY
from .periods import MONTH, QUARTER, parse_period
from .referrals import CHART_LIMIT, referral_totals, referrer_list, referrer_rows

REFERRERS_PER_PAGE = 50
COLORS = {"earned": "#1e7b3a", "bought": "#c26a00", "unknown": "#8a93a3"}
CLASS_NAMES = {"earned": "Earned", "bought": "Bought", "unknown": "Unknown"}
COHORT_TABLES = ("retention", "value", "acquisition-class", "acquisition-reason")


def requires(perm: str):
    """Staff-only view: anonymous users go to the login page, users without `perm` get a 403."""

    def decorator(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorator


def _bad_request(request, form, template: str) -> HttpResponse:
    """The page with the form's errors, or for a CSV download the errors as plain text."""
    if request.GET.get("format") == "csv":
        errors = "\n".join(f"{field}: {' '.join(messages)}" for field, messages in form.errors.items())
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    return render(request, template, {"form": form}, status=400)


# --- Cohorts --------------------------------------------------------------------------------------


class CohortFilterForm(forms.Form):
    by = forms.ChoiceField(label="Cohorts by", required=False, choices=[(QUARTER, "Quarter"), (MONTH, "Month")])
    grain = forms.ChoiceField(
        label="Grain", required=False, choices=[(ENTITY, "Customer entity"), (CUSTOMER, "Customer")]
    )
    segment = forms.ChoiceField(label="Segment", required=False)
    format = forms.ChoiceField(required=False, choices=[("", "HTML"), ("csv", "CSV")])
    table = forms.ChoiceField(required=False, choices=[("", "")] + [(name, name) for name in COHORT_TABLES])

    def __init__(self, *args, segments: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", "All segments")] + [(name, name) for name in segments]

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            "by": data["by"] or QUARTER,
            "grain": data["grain"] or ENTITY,
            "segment": data["segment"] or None,
        }


@require_safe
@requires("reports.view_reports")
def cohorts(request):
    form = CohortFilterForm(request.GET, segments=customer_segments())
    if not form.is_valid():
        return _bad_request(request, form, "reports/cohorts.html")
    report = cohort_report(**form.options())
    if form.cleaned_data["format"] == "csv":
        return _cohort_csv(report, form.cleaned_data["table"] or COHORT_TABLES[0])
    context = {"form": form, "report": report, "ages": AGES, "data": {"charts": _cohort_charts(report)}}
    return render(request, "reports/cohorts.html", context)


def _cohort_csv(report: CohortReport, table: str) -> HttpResponse:
    segment = f"-{slugify(report.segment) or 'segment'}" if report.segment else ""  # "日本" slugifies to ""
    name = f"cohorts-{table}-{report.by}-{report.grain}{segment}.csv"
    cohort_rows = report.rows + report.totals
    # Last, so that existing columns keep their places: the customers behind each age, fewer than
    # `customers` in an "All cohorts" row once only the older cohorts have reached the age.
    reaching = [f"customers_reaching_{age}m" for age in AGES]
    if table == "retention":
        header = ["cohort", "class", "customers", *(f"retention_{age}m" for age in AGES), *reaching]
        rows = ([row.label, row.kind, row.customers, *row.retention, *row.base] for row in cohort_rows)
    elif table == "value":
        header = ["cohort", "class", "customers", *(f"net_per_customer_{age}m" for age in AGES), *reaching]
        rows = ([row.label, row.kind, row.customers, *row.net_per_customer, *row.base] for row in cohort_rows)
    elif table == "acquisition-class":
        header = ["class", "customers", "acquisition_cost", "acquisition_cost_per_customer"]
        rows = ([r.kind, r.customers, r.cost, r.per_customer] for r in report.acquisition_by_class)
    else:
        header = ["reason", "class", "customers", "acquisition_cost", "acquisition_cost_per_customer"]
        rows = ([r.reason, r.kind, r.customers, r.cost, r.per_customer] for r in report.acquisition_by_reason)
    return csv_response(name, header, rows)


def _number(value):
    return None if value is None else float(value)


def chart_text(text: str) -> str:
    """Plotly reads a few HTML tags (even links) in labels; names and reason labels are plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _by_age_chart(report: CohortReport, values, y_title: str, y_format: str) -> dict:
    # The hover names the customers behind each point: a later age may be over the older cohorts only.
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": CLASS_NAMES[row.kind],
            "x": list(AGES),
            "y": [_number(value) for value in values(row)],
            "customdata": list(row.base),
            "hovertemplate": f"%{{x}} months: %{{y:{y_format}}} over %{{customdata}} customer(s)",
            "line": {"color": COLORS[row.kind]},
        }
        for row in report.totals
    ]
    layout = {
        "margin": {"t": 10, "r": 10, "b": 50, "l": 70},
        "legend": {"orientation": "h"},
        "xaxis": {"title": {"text": "Months after acquisition"}, "tickvals": list(AGES)},
        "yaxis": {"title": {"text": y_title}, "tickformat": y_format, "rangemode": "tozero"},
    }
    return {"data": traces, "layout": layout}


def _bar_chart(labels, values, colors, y_title: str) -> dict:
    trace = {
        "type": "bar",
        "x": [chart_text(label) for label in labels],
        "y": [_number(v) for v in values],
        "marker": {"color": colors},
    }
    layout = {
        "margin": {"t": 10, "r": 10, "b": 90, "l": 70},
        "yaxis": {"title": {"text": y_title}, "tickformat": ",.2f"},
        "xaxis": {"automargin": True},
    }
    return {"data": [trace], "layout": layout}


def _cohort_charts(report: CohortReport) -> dict:
    by_class, by_reason = report.acquisition_by_class, report.acquisition_by_reason
    return {
        "retention": _by_age_chart(report, lambda row: row.retention, "Customers with revenue that month", ".0%"),
        "value": _by_age_chart(report, lambda row: row.net_per_customer, "Revenue − costs per customer", ",.2f"),
        "acquisition-class": _bar_chart(
            [CLASS_NAMES[r.kind] for r in by_class],
            [r.per_customer for r in by_class],
            [COLORS[r.kind] for r in by_class],
            "Acquisition cost per customer",
        ),
        "acquisition-reason": _bar_chart(
            [r.reason for r in by_reason],
            [r.per_customer for r in by_reason],
            [COLORS[r.kind] for r in by_reason],
            "Acquisition cost per customer",
        ),
    }


# --- Referrals ------------------------------------------------------------------------------------


class ReferralFilterForm(forms.Form):
    period = forms.CharField(
        label="Revenue in period",
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"placeholder": "2025, 2025-Q3 or 2025-07", "size": 12}),
    )
    format = forms.ChoiceField(required=False, choices=[("", "HTML"), ("csv", "CSV")])

    def clean_period(self):
        text = self.cleaned_data["period"].strip()
        if not text:
            return None
        try:
            return parse_period(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


@require_safe
@requires("reports.view_reports")
def referrals(request):
    form = ReferralFilterForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, form, "reports/referrals.html")
    period = form.cleaned_data["period"]
    referrers = referrer_list(period=period)
    if form.cleaned_data["format"] == "csv":
        return _referral_csv(referrers, period)
    page = Paginator(referrers, REFERRERS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(referrer_rows(page.object_list))
    # Page 1 already holds the top of the ranking; other pages ask for it.
    top = page.object_list[:CHART_LIMIT] if page.number == 1 else list(referrer_rows(referrers[:CHART_LIMIT]))
    context = {
        "form": form,
        "period": period,
        "page_obj": page,
        "totals": referral_totals(period=period),
        "data": {"charts": {"referrers": _referral_chart(top, period)}},
        "chart_limit": CHART_LIMIT,
    }
    return render(request, "reports/referrals.html", context)


def _referral_csv(referrers, period) -> HttpResponse:
    header = ["referrer_external_id", "referrer_name", "referred_customers", "revenue"]
    if period is not None:
        header.append(f"revenue_{period}")

    def rows():
        for referrer in referrer_rows(referrers.iterator(chunk_size=2000)):
            row = [referrer.external_id, referrer.name, referrer.referred, referrer.revenue]
            yield row + ([referrer.period_revenue] if period is not None else [])

    return csv_response(f"referrals{'-' + str(period) if period else ''}.csv", header, rows())


def _referral_chart(top, period) -> dict:
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": [chart_text(referrer.label) for referrer in top],
        "x": [float(referrer.ranked_revenue) for referrer in top],
        "customdata": [referrer.referred for referrer in top],
        "hovertemplate": "%{y}<br>%{x:,.2f} from %{customdata} referred customer(s)<extra></extra>",
        "marker": {"color": COLORS["earned"]},
    }
    title = f"Revenue of referred customers in {period}" if period else "Revenue of referred customers"
    layout = {
        "margin": {"t": 10, "r": 10, "b": 50, "l": 10},
        "xaxis": {"title": {"text": title}, "tickformat": ",.2f"},
        "yaxis": {"autorange": "reversed", "automargin": True},
        "height": max(260, 28 * len(top) + 80),
    }
    return {"data": [trace], "layout": layout}
