"""The earned-growth dashboard: who sees it, what it shows, its CSVs and its recompute button."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from reports import selectors
from reports.earned_growth import earned_growth
from reports.models import ReportSnapshot, SnapshotStatus
from reports.periods import parse_period
from tests.factories import CustomerFactory, UserFactory, pay, reason

pytestmark = pytest.mark.django_db

D = Decimal
URL = reverse("reports:earned-growth")
RECOMPUTE_URL = reverse("reports:earned-growth-recompute")
YEAR_2025 = {"period": "2025"}


@pytest.fixture(autouse=True)
def late_2026():
    """The tests' periods (2023 to 2025) are recent: a page view computes them by itself."""
    with time_machine.travel(dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC), tick=True):
        yield




@pytest.fixture
def get(django_capture_on_commit_callbacks):
    """GET the dashboard once its snapshots are computed.

    In eager mode the snapshot tasks a page enqueues run as soon as the request's write commits,
    so the page already shows their figures. A test runs inside a transaction that never commits:
    the tasks run at the end of the first request, and a second one shows what the first does live.
    """

    def fetch(client, params=None):
        with django_capture_on_commit_callbacks(execute=True):
            client.get(URL, params or {})
        return client.get(URL, params or {})

    return fetch


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def headline(response) -> dict:
    return {row["key"]: row for row in response.context["headline"]}


# --- who may see it -------------------------------------------------------------------------------


def test_it_sends_anonymous_users_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_it_shows_the_dashboard_to_every_staff_role(client_as, get, company_a, role):
    response = get(client_as(role), YEAR_2025)
    assert response.status_code == 200
    assert b"Earned growth" in response.content


def test_it_refuses_a_user_without_the_report_permission(client, company_a):
    client.force_login(UserFactory())
    assert client.get(URL, YEAR_2025).status_code == 403
    assert client.get(URL, {**YEAR_2025, "format": "csv", "table": "bridge"}).status_code == 403


def test_it_rejects_a_malformed_or_future_period(client_as):
    client = client_as("viewer")
    assert client.get(URL, {"period": "2025-Q5"}).status_code == 400
    assert client.get(URL, {"period": "2999"}).status_code == 400
    assert client.get(URL, {"period": "2025", "format": "csv", "grain": "nope"}).status_code == 400


# --- what it shows --------------------------------------------------------------------------------


def test_it_shows_company_a_headline_figures_beside_the_prior_period(client_as, get, company_a):
    response = get(client_as("viewer"), YEAR_2025)

    figures = headline(response)
    assert figures["revenue"]["current"].value == D("130.00")
    assert figures["revenue"]["prior"].value == D("100.00")
    shown = {key: row["current"].text for key, row in figures.items() if key != "revenue"}
    assert shown == {
        "nrr": "85.0%",
        "grr": "80.0%",
        "enc": "25.0%",
        "bnc": "20.0%",
        "earned_growth_rate": "10.0%",
        "earned_growth_rate_if_unknown_earned": "10.0%",
        "total_growth_rate": "30.0%",
        "earned_growth_share": "33.3%",
    }
    # 2024 against 2023: no revenue in 2023, so every ratio is null, shown as "—" with its reason.
    assert figures["nrr"]["prior"].value is None
    assert figures["nrr"]["prior"].reason == (
        "2024: Revenue in 2023 is 0.00, not above 0: every ratio is undefined (null)."
    )
    html = response.content.decode()
    for text in ("85.0%", "25.0%", "10.0%", "33.3%", "130.00", "Revenue in 2023 is 0"):
        assert text in html


def test_it_rounds_rates_for_display_only(client_as, get, company_a):
    response = get(client_as("viewer"), YEAR_2025)
    snapshot = ReportSnapshot.objects.get(period="2025", segment="")
    # The snapshot keeps the rate exact (the API's JSON gives it to 6 places: 0.333333).
    assert D(snapshot.figures["earned_growth_share"]) == D("0.1") / D("0.3")
    assert headline(response)["earned_growth_share"]["current"].text == "33.3%"


@pytest.fixture
def nrr_just_below_a_rounding_edge():
    """Prior revenue 1,000,000.00, of which the cohort keeps 123,499.60: NRR 0.1234996, shown 12.3 %.
    Rounded to 6 places first (0.1235), it would show 12.4 %."""
    customer = CustomerFactory(segment="SMB", reason=reason("recommendation"))
    pay(customer, "2024-05-01", "1000000.00")
    pay(customer, "2025-05-01", "123499.60")


def test_the_headline_and_trend_round_a_rate_once_as_the_segment_table_and_command_do(
    client_as, get, nrr_just_below_a_rounding_edge
):
    out = io.StringIO()
    call_command("earned_growth", "2025", stdout=out)
    assert re.search(r"Net revenue retention \(NRR\)\s+(\S+)", out.getvalue()).group(1) == "12.3%"

    response = get(client_as("viewer"), YEAR_2025)

    assert headline(response)["nrr"]["current"].text == "12.3%"  # from the snapshot: was 12.4%
    assert response.context["trend"][-1]["values"]["nrr"].text == "12.3%"
    assert [row["cells"]["nrr"].text for row in response.context["segments"]] == ["12.3%"]  # live
    assert ReportSnapshot.objects.get(period="2025").figures["nrr"] == "0.1234996"
    headline_html = response.content.decode().split('id="headline-title"')[1].split("</section>")[0]
    assert "12.3%" in headline_html and "12.4%" not in headline_html


def test_the_trend_csv_keeps_the_apis_six_places(client_as, get, nrr_just_below_a_rounding_edge):
    get(client_as("viewer"), YEAR_2025)
    rows = csv_rows(get(client_as("viewer"), {**YEAR_2025, "format": "csv", "table": "trend"}))
    segments = csv_rows(get(client_as("viewer"), {**YEAR_2025, "format": "csv", "table": "segments"}))

    assert rows[-1][0] == "2025" and rows[-1][4] == "0.1235"
    assert dict(zip(segments[0], segments[1], strict=True))["nrr"] == "0.1235"


def test_a_snapshot_stored_with_six_place_rates_still_reads(client_as, get, company_a):
    get(client_as("viewer"), YEAR_2025)
    old = earned_growth(period=parse_period("2025")).as_json()  # the format snapshots had before
    ReportSnapshot.objects.filter(period="2025", segment="").update(figures=old)

    response = get(client_as("viewer"), YEAR_2025)

    assert old["earned_growth_share"] == "0.333333"
    assert headline(response)["earned_growth_share"]["current"].text == "33.3%"
    assert headline(response)["nrr"]["current"].text == "85.0%"


def test_the_bridge_goes_from_prior_to_current_revenue_and_adds_up(client_as, get, company_a):
    response = get(client_as("viewer"), YEAR_2025)

    bridge = response.context["bridge"]
    assert [(step.key, step.amount) for step in bridge.steps] == [
        ("prior_revenue", D("100.00")),
        ("churned_revenue", D("0.00")),
        ("contraction_revenue", D("-20.00")),
        ("expansion_revenue", D("5.00")),
        ("earned_new_revenue", D("25.00")),
        ("bought_new_revenue", D("20.00")),
        ("unknown_new_revenue", D("0.00")),
        ("revenue", D("130.00")),
    ]
    assert bridge.balanced
    assert sum(step.amount for step in bridge.steps[:-1]) == bridge.end == D("130.00")
    [trace] = response.context["data"]["charts"]["bridge"]["data"]
    assert trace["type"] == "waterfall"
    assert trace["measure"] == ["absolute"] + ["relative"] * 6 + ["total"]
    assert sum(trace["y"][:-1]) == pytest.approx(trace["y"][-1])


def test_the_trend_covers_three_years_eight_quarters_or_twelve_months(client_as, get, company_a):
    client = client_as("viewer")
    assert [row["period"] for row in get(client, YEAR_2025).context["trend"]] == ["2023", "2024", "2025"]
    quarters = get(client, {"period": "2025-Q2"}).context["trend"]
    assert [row["period"] for row in quarters][0::7] == ["2023-Q3", "2025-Q2"] and len(quarters) == 8
    months = get(client, {"period": "2025-07"}).context["trend"]
    assert [row["period"] for row in months][0::11] == ["2024-08", "2025-07"] and len(months) == 12


def test_it_asks_for_missing_snapshots_and_reads_them_back(client_as, get, company_a):
    response = get(client_as("viewer"), YEAR_2025)

    assert set(ReportSnapshot.objects.values_list("period", flat=True)) == {"2023", "2024", "2025"}
    assert set(ReportSnapshot.objects.values_list("status", flat=True)) == {SnapshotStatus.DONE}
    assert [row["values"]["nrr"].text for row in response.context["trend"]] == ["", "", "85.0%"]
    assert ReportSnapshot.objects.get(period="2025").requested_by is None  # asked for by the page, not a recompute


def test_snapshots_not_computed_yet_show_as_pending(client_as, company_a):
    # No task runs here (the enqueue waits for a commit that never comes): a worker has not got to it yet.
    response = client_as("viewer").get(URL, YEAR_2025)

    assert response.status_code == 200
    assert response.context["bridge"] is None
    assert headline(response)["nrr"]["current"].state == "pending"
    assert {row["state"] for row in response.context["trend"]} == {"pending"}
    assert b'data-autorefresh-seconds="10"' in response.content  # reloads until done, with a pause button
    assert b"Computing: this page refreshes every 10 seconds." in response.content
    assert b'http-equiv="refresh"' not in response.content


def test_the_segment_filter_reads_that_segments_snapshots(client_as, get, company_a):
    CustomerFactory(segment="Enterprise")
    response = get(client_as("viewer"), {**YEAR_2025, "segment": "SMB", "grain": "customer", "compare": "yoy"})

    assert response.status_code == 200
    assert set(ReportSnapshot.objects.values_list("segment", "grain", "compare")) == {("SMB", "customer", "yoy")}
    assert [row["segment"] for row in response.context["segments"]] == ["SMB"]


def test_an_unknown_segment_is_refused(client_as):
    assert client_as("viewer").get(URL, {**YEAR_2025, "segment": "Nope"}).status_code == 400


def test_it_uses_the_last_complete_quarter_by_default(client_as, get, company_a):
    assert str(selectors.default_period(dt.date(2025, 11, 5))) == "2025-Q3"
    assert str(selectors.default_period(dt.date(2025, 1, 1))) == "2024-Q4"
    response = get(client_as("viewer"))
    assert response.context["params"].period == selectors.default_period()


def test_a_prior_revenue_of_zero_shows_dashes_with_the_reason(client_as, get):
    pay(CustomerFactory(reason=reason("recommendation")), "2025-02-01", "40.00")

    response = get(client_as("viewer"), YEAR_2025)

    assert response.status_code == 200
    figures = headline(response)
    assert figures["revenue"]["current"].value == D("40.00")
    assert all(figures[key]["current"].value is None for key in ("nrr", "enc", "earned_growth_rate"))
    html = response.content.decode()
    assert "2025: Revenue in 2024 is 0.00, not above 0: every ratio is undefined (null)." in html
    assert "—" in html
    assert response.context["bridge"].balanced


def test_it_has_no_inline_script_or_style(client_as, get, company_a):
    html = get(client_as("admin"), YEAR_2025).content.decode()

    assert ' style="' not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="' in tag or 'type="application/json"' in tag
    assert "vendor/plotly.min.js" in html and "js/charts.js" in html


# --- the unknown-reason warning -------------------------------------------------------------------


@pytest.fixture
def mostly_unknown(company_a):
    """New revenue 45 known + 30 unknown (no answer): 60% known."""
    pay(CustomerFactory(reason=None), "2025-08-01", "30.00")


def test_it_warns_when_much_new_revenue_has_no_known_reason(client_as, get, mostly_unknown):
    html = get(client_as("analyst"), YEAR_2025).content.decode()

    assert "40.0% of new revenue" in html
    assert f"{reverse('accounting:customer-list')}?reason_class=unknown" in html


def test_the_warning_links_to_customers_only_for_who_may_see_them(client_as, get, mostly_unknown):
    html = get(client_as("viewer"), YEAR_2025).content.decode()

    assert "40.0% of new revenue" in html
    assert "reason_class=unknown" not in html


def test_it_does_not_warn_when_reasons_are_known(client_as, get, company_a):
    response = get(client_as("analyst"), YEAR_2025)
    assert response.context["known_reason"] is None
    assert b"of new revenue</strong>" not in response.content


# --- snapshot status and recompute ----------------------------------------------------------------


def test_it_flags_a_snapshot_whose_ledger_changed(client_as, get, company_a):
    client = client_as("viewer")
    assert b"up to date" in get(client, YEAR_2025).content

    pay(CustomerFactory(), "2025-09-01", "1.00")

    response = get(client, YEAR_2025)
    assert response.context["dashboard"].current.stale
    assert b"stale" in response.content
    assert b"Recompute" not in response.content  # a viewer cannot recompute


def test_an_analyst_recomputes_the_snapshot(client_as, get, company_a, analyst, django_capture_on_commit_callbacks):
    client = client_as(None)
    client.force_login(analyst)
    get(client, YEAR_2025)
    pay(CustomerFactory(reason=reason("reputation")), "2025-09-01", "10.00")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RECOMPUTE_URL, {**YEAR_2025, "compare": "prior", "grain": "entity", "segment": ""})

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?period=2025&compare=prior&grain=entity"
    snapshot = ReportSnapshot.objects.get(period="2025")
    assert snapshot.status == SnapshotStatus.DONE and snapshot.requested_by == analyst
    assert snapshot.figures["revenue"] == "140.00"
    page = client.get(response["Location"])
    # In a test the task runs after the view has answered, so the message says "requested";
    # in eager mode it has run by then and says "Recomputed 2025".
    assert [str(message) for message in page.context["messages"]] == [
        "Recompute of 2025 and 2 other periods requested: the figures update when it is done."
    ]
    # the ledger change made the trend's other periods stale too: they were recomputed with it
    assert set(ReportSnapshot.objects.values_list("period", "requested_by")) == {
        ("2023", analyst.pk),
        ("2024", analyst.pk),
        ("2025", analyst.pk),
    }
    assert not page.context["dashboard"].stale


def test_a_viewer_cannot_recompute(client_as, get, company_a):
    client = client_as("viewer")
    get(client, YEAR_2025)
    computed_at = ReportSnapshot.objects.get(period="2025").computed_at

    response = client.post(RECOMPUTE_URL, {**YEAR_2025, "compare": "prior", "grain": "entity"})

    assert response.status_code == 403
    assert ReportSnapshot.objects.get(period="2025").computed_at == computed_at


def test_the_recompute_url_needs_a_post(client_as):
    assert client_as("analyst").get(RECOMPUTE_URL, YEAR_2025).status_code == 405


def test_an_anonymous_recompute_goes_to_the_login_page(client):
    response = client.post(RECOMPUTE_URL, YEAR_2025)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_recompute_button_is_a_csrf_protected_post(client_as, get, company_a):
    html = get(client_as("analyst"), YEAR_2025).content.decode()
    form = re.search(rf'<form method="post" action="{RECOMPUTE_URL}"[^>]*>(.*?)</form>', html, re.S)
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert 'name="period" value="2025"' in form.group(1)


# --- CSV ------------------------------------------------------------------------------------------


def test_the_bridge_csv_has_signed_numbers(client_as, get, company_a):
    rows = csv_rows(get(client_as("viewer"), {**YEAR_2025, "format": "csv", "table": "bridge"}))

    assert rows[0] == ["step", "measure", "amount"]
    assert rows[1:] == [
        ["Revenue 2024", "absolute", "100.00"],
        ["Churn", "relative", "0.00"],
        ["Contraction", "relative", "-20.00"],  # a number, not a formula: never quoted
        ["Expansion", "relative", "5.00"],
        ["Earned new", "relative", "25.00"],
        ["Bought new", "relative", "20.00"],
        ["Unknown new", "relative", "0.00"],
        ["Revenue 2025", "total", "130.00"],
    ]
    assert sum(D(row[2]) for row in rows[1:-1]) == D(rows[-1][2])


def test_the_trend_csv_has_a_row_per_period(client_as, get, company_a):
    rows = csv_rows(get(client_as("viewer"), {**YEAR_2025, "format": "csv", "table": "trend"}))

    assert rows[0] == ["period", "status", "stale", "computed_at", "nrr", "enc", "earned_growth_rate"]
    assert [row[0] for row in rows[1:]] == ["2023", "2024", "2025"]
    assert rows[3][1:3] == ["done", "no"] and rows[3][4:] == ["0.85", "0.25", "0.1"]
    assert rows[1][4:] == ["", "", ""]  # undefined: empty, not 0


def test_the_segment_csv_neutralises_formulas_in_segment_names(client_as, get, company_a):
    evil = CustomerFactory(segment="=cmd|' /C calc'!A0", reason=reason("advertising"))
    pay(evil, "2024-02-01", "10.00")
    pay(evil, "2025-02-01", "4.00")

    response = get(client_as("viewer"), {**YEAR_2025, "format": "csv", "table": "segments"})

    assert "earned-growth-segments-2025-prior-entity.csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][:4] == ["segment", "prior_revenue", "revenue", "retained_revenue"]
    by_segment = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_segment) == {"SMB", "'=cmd|' /C calc'!A0"}
    evil_row = by_segment["'=cmd|' /C calc'!A0"]
    assert evil_row["contraction_revenue"] == "6.00" and evil_row["nrr"] == "0.4"
    assert by_segment["SMB"]["nrr"] == "0.85" and by_segment["SMB"]["earned_growth_rate"] == "0.1"


def test_the_segment_table_shows_every_segment(client_as, get, company_a):
    pay(CustomerFactory(segment="<b>Enterprise</b>", reason=reason("advertising")), "2025-02-01", "4.00")

    response = get(client_as("viewer"), YEAR_2025)

    assert [row["segment"] for row in response.context["segments"]] == ["<b>Enterprise</b>", "SMB"]
    assert "&lt;b&gt;Enterprise&lt;/b&gt;" in response.content.decode()
    assert response.context["data"]["charts"]["segments"]["data"][0]["y"][0] == "&lt;b&gt;Enterprise&lt;/b&gt;"


# --- cost ---------------------------------------------------------------------------------------


def test_the_page_needs_a_bounded_number_of_queries(client_as, get, company_a, django_assert_max_num_queries):
    for n in range(6):
        pay(CustomerFactory(segment=f"Segment {n}", reason=reason("promotion")), "2025-04-01", "3.00")
    client = client_as("analyst")
    get(client, YEAR_2025)  # computes the snapshots

    # session, user, permissions (2), segments, snapshots (1 query for all periods), fingerprint (4),
    # segment table (1 statement), whatever the number of segments or periods.
    with django_assert_max_num_queries(12):
        response = client.get(URL, YEAR_2025)
    assert response.status_code == 200
    assert len(response.context["segments"]) == 7


def test_csv_downloads_need_a_bounded_number_of_queries(client_as, get, company_a, django_assert_max_num_queries):
    client = client_as("viewer")
    get(client, YEAR_2025)
    for table in ("bridge", "trend", "segments"):
        with django_assert_max_num_queries(12):
            csv_rows(client.get(URL, {**YEAR_2025, "format": "csv", "table": table}))


def test_the_period_range_is_parsed_once(company_a):
    params = selectors.DashboardParams(period=parse_period("2025-07"), compare="yoy", grain="entity")
    # 12 trend months plus the same month a year earlier (the prior with yoy): one query reads all.
    assert len(params.periods) == 13 and str(params.periods[0]) == "2024-07"


def test_a_recompute_of_fresh_snapshots_recomputes_only_the_chosen_period(
    client_as, get, company_a, django_capture_on_commit_callbacks
):
    client = client_as("admin")
    get(client, YEAR_2025)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(RECOMPUTE_URL, {**YEAR_2025, "compare": "prior", "grain": "entity"})

    asked = ReportSnapshot.objects.filter(requested_by__isnull=False).values_list("period", flat=True)
    assert list(asked) == ["2025"]


@pytest.mark.parametrize("compare, caption", [
    ("prior", "Reactivated customers (revenue before 2025-Q2, none in it)"),
    ("yoy", "Reactivated customers (revenue before 2025-Q3 but none in 2024-Q3: those who bought only between"),
])
def test_the_reactivation_caption_says_what_it_counts_for_each_comparison(client_as, get, company_a, compare,
                                                                         caption):
    page = get(client_as("viewer"), {"period": "2025-Q3", "compare": compare}).content.decode()

    assert caption in page


def test_an_old_period_is_not_computed_by_a_page_view(client_as, company_a):
    page = client_as("viewer").get(URL, {"period": "2019"})

    assert page.status_code == 200
    assert not ReportSnapshot.objects.exists()  # a GET sets off nothing for periods this old
    assert headline(page)["nrr"]["current"].state == "not computed"
    body = page.content.decode()
    assert "Not computed: 2019 is older than the periods a page view computes" in body
    assert "data-autorefresh-seconds" not in body  # nothing is coming: no reload loop


def test_a_page_view_computes_periods_from_three_calendar_years_back(client_as, get, company_a):
    get(client_as("viewer"), {"period": "2023-Q2"})

    asked = set(ReportSnapshot.objects.values_list("period", flat=True))
    assert "2023-Q2" in asked and "2023-Q1" in asked
    assert not {period for period in asked if period.startswith("2022") or period.startswith("2021")}


def test_recompute_computes_an_old_period(client_as, company_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as("analyst").post(RECOMPUTE_URL, {"period": "2019", "compare": "prior", "grain": "entity"})

    assert response.status_code == 302
    assert ReportSnapshot.objects.get(period="2019").status == SnapshotStatus.DONE
