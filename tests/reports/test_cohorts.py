"""Earned vs bought cohorts on a small ledger worked out by hand, and the page that shows them."""

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from accounting.models import CostKind, ReasonCategory, ReasonKind
from reports.cohorts import AGES, QUARTER, _cohort_sql, _units, cohort_report
from reports.csv_export import csv_cell, csv_response
from reports.earned_growth import ENTITY
from tests.factories import CostEntryFactory, CustomerFactory, UserFactory, pay, reason

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = dt.date(2025, 6, 15)
# The page reports as of today; its tests travel to AS_OF.
ON_AS_OF = time_machine.travel(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC), tick=False)
URL = "/reports/cohorts/"



def cost(customer, day: str, amount: str, kind=CostKind.SERVE):
    CostEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=D(amount), kind=kind)


def acquired(day: str | None, **kwargs):
    return CustomerFactory(acquired_on=dt.date.fromisoformat(day) if day else None, **kwargs)


@pytest.fixture
def ledger():
    """Six dated customers in two quarters of 2024, one undated; ages are months since acquisition.

    2024-Q1  A earned  Jan: 100 (age 0), 50 (3), 50 (6), 50 (12); cost to serve 10 (3)
             E earned  Mar: an "other" answer mapped onto recommendation; 80 (0), 20 (3), then churns
             C bought  Feb: acquisition cost 200 + an acquisition cost entry of 50; 100 (0), 100 (3),
                       a refund of -30 (6)
    2024-Q2  B earned  Apr: 30 + 20 (3), 40 (5), nothing at 6
             D bought  May: acquisition cost entry of 80 dated the month before (-1); 60 (0), 60 (3),
                       cost to serve 5 (3), -10 + 10 (6: a month total of 0 is not retention)
             F unknown Jun: no reason, acquisition cost 15; 25 (3)
    undated  G bought  salesperson, acquisition cost 40
    """
    a = acquired("2024-01-15", reason=reason("recommendation"))
    for day, amount in [("2024-01-20", "100"), ("2024-04-10", "50"), ("2024-07-10", "50"), ("2025-01-10", "50")]:
        pay(a, day, amount)
    cost(a, "2024-04-30", "10")

    e = acquired(
        "2024-03-01", reason=reason("other"), reason_text="my cousin", reason_mapped_to=reason("recommendation")
    )
    pay(e, "2024-03-05", "80")
    pay(e, "2024-06-02", "20")

    c = acquired("2024-02-20", reason=reason("advertising"), acquisition_cost=D("200.00"))
    cost(c, "2024-02-01", "50", kind=CostKind.ACQUISITION)
    for day, amount in [("2024-02-25", "100"), ("2024-05-05", "100"), ("2024-08-05", "-30")]:
        pay(c, day, amount)

    b = acquired("2024-04-05", reason=reason("reputation"))
    for day, amount in [("2024-07-01", "30"), ("2024-07-20", "20"), ("2024-09-01", "40")]:
        pay(b, day, amount)

    d = acquired("2024-05-10", reason=reason("promotion"))
    cost(d, "2024-04-20", "80", kind=CostKind.ACQUISITION)
    for day, amount in [("2024-05-15", "60"), ("2024-08-01", "60"), ("2024-11-01", "-10"), ("2024-11-02", "10")]:
        pay(d, day, amount)
    cost(d, "2024-08-31", "5")

    f = acquired("2024-06-30", reason=None, acquisition_cost=D("15.00"))
    pay(f, "2024-09-01", "25")

    acquired(None, reason=reason("salesperson"), acquisition_cost=D("40.00"))


def rows_by_key(report):
    return {(row.label, row.kind): row for row in report.rows + report.totals}


def rates(*values):
    return tuple(None if value is None else D(value) for value in values)


def test_it_counts_and_retains_each_quarterly_cohort_by_class(ledger):
    rows = rows_by_key(cohort_report(as_of=AS_OF))

    assert set(rows) == {
        ("2024-Q1", "earned"),
        ("2024-Q1", "bought"),
        ("2024-Q2", "earned"),
        ("2024-Q2", "bought"),
        ("2024-Q2", "unknown"),
        ("All cohorts", "earned"),
        ("All cohorts", "bought"),
        ("All cohorts", "unknown"),
    }
    # On 2025-06-15, 2024-Q1 (last month March) has reached 12 months but not 24; 2024-Q2 only 6.
    assert rows["2024-Q1", "earned"].customers == 2
    assert rows["2024-Q1", "earned"].retention == rates("1", "0.5", "0.5", None)
    assert rows["2024-Q1", "bought"].retention == rates("1", "0", "0", None)
    assert rows["2024-Q2", "earned"].retention == rates("1", "0", None, None)
    assert rows["2024-Q2", "bought"].retention == rates("1", "0", None, None)
    assert rows["2024-Q2", "unknown"].retention == rates("1", "0", None, None)


def test_it_gives_cumulative_revenue_minus_cost_per_customer(ledger):
    rows = rows_by_key(cohort_report(as_of=AS_OF))

    # A: 100 + 50 - 10 = 140, 190, 240; E: 100 throughout.
    assert rows["2024-Q1", "earned"].net_per_customer == (D("120.00"), D("145.00"), D("170.00"), None)
    # C: 200 revenue - 250 acquisition = -50, then the -30 refund.
    assert rows["2024-Q1", "bought"].net_per_customer == (D("-50.00"), D("-80.00"), D("-80.00"), None)
    assert rows["2024-Q2", "earned"].net_per_customer == (D("50.00"), D("90.00"), None, None)
    # D: 120 - 5 to serve - 80 to acquire, booked the month before acquisition.
    assert rows["2024-Q2", "bought"].net_per_customer == (D("35.00"), D("35.00"), None, None)
    assert rows["2024-Q2", "unknown"].net_per_customer == (D("10.00"), D("10.00"), None, None)


def test_all_cohorts_rows_weigh_each_age_over_the_cohorts_that_reached_it(ledger):
    rows = rows_by_key(cohort_report(as_of=AS_OF))

    earned, bought = rows["All cohorts", "earned"], rows["All cohorts", "bought"]
    assert (earned.customers, bought.customers) == (3, 2)
    assert earned.retention == rates("1", "0.333333", "0.5", None)
    assert earned.net_per_customer == (D("96.67"), D("126.67"), D("170.00"), None)
    assert bought.retention == rates("1", "0", "0", None)
    assert bought.net_per_customer == (D("-7.50"), D("-22.50"), D("-80.00"), None)


def test_ages_not_yet_reached_are_empty_not_zero(ledger):
    rows = rows_by_key(cohort_report(as_of=dt.date(2024, 9, 15)))

    # 2024-Q2 ends in June: its 3-month column (September) is still running.
    assert rows["2024-Q2", "bought"].retention == (None, None, None, None)
    assert rows["2024-Q2", "bought"].net_per_customer == (None, None, None, None)
    assert rows["2024-Q1", "earned"].retention == rates("1", None, None, None)
    assert rows["All cohorts", "unknown"].retention == (None, None, None, None)


def test_it_groups_by_month_on_request(ledger):
    report = cohort_report(by="month", as_of=AS_OF)
    rows = rows_by_key(report)

    assert [(row.label, row.kind) for row in report.rows][:3] == [
        ("2024-01", "earned"),
        ("2024-02", "bought"),
        ("2024-03", "earned"),
    ]
    # E alone, acquired in March: its 12 months (March 2025) are over by mid-June.
    assert rows["2024-03", "earned"].retention == rates("1", "0", "0", None)
    assert rows["2024-03", "earned"].net_per_customer == (D("100.00"), D("100.00"), D("100.00"), None)


def test_it_gives_acquisition_cost_per_customer_by_class_and_reason(ledger):
    report = cohort_report(as_of=AS_OF)

    assert [(r.kind, r.customers, r.cost, r.per_customer) for r in report.acquisition_by_class] == [
        ("earned", 3, D("0.00"), D("0.00")),
        ("bought", 3, D("370.00"), D("123.33")),  # C 250, D 80 and the undated G 40
        ("unknown", 1, D("15.00"), D("15.00")),
    ]
    assert [(r.reason, r.kind, r.customers, r.cost, r.per_customer) for r in report.acquisition_by_reason] == [
        ("Recommended by a friend, family member or colleague", "earned", 2, D("0.00"), D("0.00")),
        ("Trusted reputation, reviews, word of mouth", "earned", 1, D("0.00"), D("0.00")),
        ("A helpful salesperson", "bought", 1, D("40.00"), D("40.00")),
        ("Advertising", "bought", 1, D("250.00"), D("250.00")),
        ("Special or promotional pricing", "bought", 1, D("80.00"), D("80.00")),
        ("No answer", "unknown", 1, D("15.00"), D("15.00")),
    ]
    assert report.undated_customers == 1


def test_an_unmapped_other_answer_is_unknown():
    customer = acquired("2024-01-10", reason=reason("other"), reason_text="a podcast")
    pay(customer, "2024-04-02", "10")

    report = cohort_report(as_of=AS_OF)

    assert [(row.label, row.kind, row.customers) for row in report.rows] == [("2024-Q1", "unknown", 1)]
    assert [(r.reason, r.kind) for r in report.acquisition_by_reason] == [("Other", "unknown")]


def test_at_entity_grain_a_division_rolls_up_into_its_parent():
    parent = acquired("2024-01-10", reason=reason("recommendation"), acquisition_cost=D("10.00"))
    division = acquired("2024-05-01", reason=reason("advertising"), acquisition_cost=D("30.00"), parent=parent)
    pay(parent, "2024-01-12", "100")
    pay(division, "2024-04-03", "40")  # age 3 of the entity, acquired in January

    entity = cohort_report(as_of=AS_OF)
    customer = cohort_report(grain="customer", as_of=AS_OF)

    assert [(row.label, row.kind, row.customers) for row in entity.rows] == [("2024-Q1", "earned", 1)]
    assert entity.rows[0].retention[0] == D("1")
    assert entity.rows[0].net_per_customer[0] == D("100.00")  # 140 revenue - 40 acquisition
    assert [(r.kind, r.cost) for r in entity.acquisition_by_class] == [("earned", D("40.00"))]
    assert [(row.label, row.kind, row.customers) for row in customer.rows] == [
        ("2024-Q1", "earned", 1),
        ("2024-Q2", "bought", 1),
    ]
    assert customer.rows[0].retention[0] == D("0")


def test_a_segment_filter_keeps_that_segment_only(ledger):
    acquired("2024-01-20", reason=reason("advertising"), segment="Enterprise")

    report = cohort_report(segment="Enterprise", as_of=AS_OF)

    assert [(row.label, row.kind, row.customers) for row in report.rows] == [("2024-Q1", "bought", 1)]


def test_it_takes_two_queries_however_many_cohorts(django_assert_num_queries):
    for month in range(1, 13):
        for slug in ("recommendation", "advertising", "other"):
            customer = acquired(f"2023-{month:02d}-05", reason=reason(slug), acquisition_cost=D("1.00"))
            pay(customer, f"2024-{month:02d}-05", "10")
            cost(customer, f"2024-{month:02d}-06", "1")

    with django_assert_num_queries(2):
        report = cohort_report(by="month", as_of=AS_OF)

    assert len(report.rows) == 36
    assert all(row.retention[2] == D("1") for row in report.rows)


def test_money_is_exact_to_the_cent():
    customer = acquired("2024-01-10", reason=reason("recommendation"))
    for _ in range(10):
        pay(customer, "2024-02-10", "0.10")
    pay(customer, "2024-04-10", "0.29")

    row = cohort_report(as_of=AS_OF).rows[0]

    assert row.net_per_customer[0] == D("1.29")


# --- The page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_every_staff_role_sees_the_page(client_as, role, ledger):
    response = client_as(role).get(URL)

    assert response.status_code == 200
    assert response.context["report"].by == "quarter"
    assert response.context["report"].grain == "entity"


def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_rejects_a_user_without_the_report_permission(client):
    client.force_login(UserFactory())

    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv", "table": "retention"}).status_code == 403


def test_the_page_shows_tables_charts_and_csv_links(client_as, ledger):
    response = client_as("viewer").get(URL, {"by": "month", "grain": "customer"})
    html = response.content.decode()

    assert "vendor/plotly.min.js" in html
    assert "js/charts.js" in html
    assert 'id="cohort-data"' in html
    for table in ("retention", "value", "acquisition-class", "acquisition-reason"):
        assert f'data-chart="{table}"' in html
        assert f"table={table}" in html
    assert "2024-03" in html
    assert "https://" not in html.split("<main", 1)[1]  # no CDN
    data = json.loads(html.split('id="cohort-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert set(data["charts"]) == {"retention", "value", "acquisition-class", "acquisition-reason"}
    earned = next(trace for trace in data["charts"]["retention"]["data"] if trace["name"] == "Earned")
    assert earned["x"] == list(AGES)


def test_the_page_marks_unreached_ages_empty(client_as):
    today = dt.date.today()
    customer = acquired(today.isoformat(), reason=reason("recommendation"))
    pay(customer, today.isoformat(), "10")

    response = client_as("viewer").get(URL)

    row = response.context["report"].rows[0]
    assert row.retention == (None, None, None, None)
    assert 'title="Not reached yet"' in response.content.decode()


def test_an_unknown_option_is_a_bad_request(client_as):
    assert client_as("viewer").get(URL, {"by": "week"}).status_code == 400
    assert client_as("viewer").get(URL, {"format": "csv", "table": "nope"}).status_code == 400


def test_the_page_needs_a_bounded_number_of_queries(client_as, django_assert_max_num_queries):
    client = client_as("viewer")
    for month in range(1, 13):
        for slug in ("recommendation", "promotion"):
            customer = acquired(f"2023-{month:02d}-05", reason=reason(slug), acquisition_cost=D("5"))
            pay(customer, f"2023-{month:02d}-25", "10")

    with django_assert_max_num_queries(8):
        assert client.get(URL, {"by": "month"}).status_code == 200


# --- CSV ---------------------------------------------------------------------------------------------


def download(client, **params) -> list[list[str]]:
    response = client.get(URL, {"format": "csv", **params})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@ON_AS_OF
def test_the_retention_csv_has_every_row_and_empty_unreached_cells(client_as, ledger):
    rows = download(client_as("viewer"), table="retention")

    assert rows[0] == [
        "cohort",
        "class",
        "customers",
        "retention_3m",
        "retention_6m",
        "retention_12m",
        "retention_24m",
        "customers_reaching_3m",
        "customers_reaching_6m",
        "customers_reaching_12m",
        "customers_reaching_24m",
    ]
    assert rows[1] == ["2024-Q1", "earned", "2", "1.000000", "0.500000", "0.500000", "", "2", "2", "2", "0"]
    assert ["All cohorts", "earned", "3", "1.000000", "0.333333", "0.500000", "", "3", "3", "2", "0"] in rows


@ON_AS_OF
def test_the_value_and_acquisition_csvs(client_as, ledger):
    client = client_as("viewer")

    value = download(client, table="value")
    assert value[0][:4] == ["cohort", "class", "customers", "net_per_customer_3m"]
    # numbers stay numbers
    assert ["2024-Q1", "bought", "1", "-50.00", "-80.00", "-80.00", "", "1", "1", "1", "0"] in value

    by_class = download(client, table="acquisition-class")
    assert by_class == [
        ["class", "customers", "acquisition_cost", "acquisition_cost_per_customer"],
        ["earned", "3", "0.00", "0.00"],
        ["bought", "3", "370.00", "123.33"],
        ["unknown", "1", "15.00", "15.00"],
    ]
    by_reason = download(client, table="acquisition-reason")
    assert by_reason[0] == ["reason", "class", "customers", "acquisition_cost", "acquisition_cost_per_customer"]
    assert ["Advertising", "bought", "1", "250.00", "250.00"] in by_reason


def test_csv_cells_that_could_run_as_formulas_are_neutralised(client_as):
    category = ReasonCategory.objects.create(
        label='=HYPERLINK("http://evil.example","click")', slug="evil", kind=ReasonKind.BOUGHT
    )
    acquired("2024-01-10", reason=category, acquisition_cost=D("5.00"))

    rows = download(client_as("viewer"), table="acquisition-reason")

    assert rows[1] == ['\'=HYPERLINK("http://evil.example","click")', "bought", "1", "5.00", "5.00"]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cell_quotes_formula_starts(text):
    assert csv_cell(text) == "'" + text


def test_text_cells_are_quoted_so_a_semicolon_locale_cannot_split_them():
    response = csv_response("t.csv", ["name", "amount"], [["x;=cmd|'/C calc'!A0", D("-5.00")]])

    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()

    assert lines == ['"name","amount"', '"x;=cmd|\'/C calc\'!A0",-5.00']


def test_csv_cell_leaves_numbers_and_plain_text_alone():
    assert csv_cell(D("-30.00")) == D("-30.00")
    assert csv_cell("Advertising") == "Advertising"
    assert csv_cell(None) == ""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the plan of the embedded demo's database")
def test_each_ledger_row_finds_its_unit_by_key_not_by_a_scan_per_unit():
    # Joined units-first, SQLite (no hash join) scanned the whole ledger once per unit: the demo's
    # cohorts page took 30 s on every load, 2.6 s since.
    sql, params = _cohort_sql(_units(grain=ENTITY, segment=None, by=QUARTER), ENTITY)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        steps = [row[3] for row in cursor.fetchall()]
    assert not [step for step in steps if re.fullmatch(r"SCAN \w+ LEFT-JOIN", step)], steps
    assert [step for step in steps if step.startswith("SEARCH u USING")], steps


# --- Rounding as every report page rounds ------------------------------------------------------------


def _sixteen_customers_one_retained():
    customers = [CustomerFactory(acquired_on=dt.date(2024, 1, 10), reason=reason("recommendation")) for _ in range(16)]
    pay(customers[0], "2024-04-10", "10.00")  # age 3: 1 of 16 = 6.25 %


def test_retention_percent_rounds_half_away_from_zero_once_from_the_exact_share(client_as):
    """Decimal's default (half to even), applied twice, showed 1 of 16 as 6.2 % where the dashboards
    show 6.3 %."""
    _sixteen_customers_one_retained()

    row = cohort_report(grain="customer", as_of=dt.date(2025, 6, 15)).rows[0]
    with time_machine.travel(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC), tick=False):
        html = client_as("viewer").get("/reports/cohorts/?grain=customer").content.decode()

    assert row.retention[0] == Decimal("0.0625")
    assert row.retention_percent[0] == Decimal("6.3")
    assert "6.3%" in html and "6.2%" not in html


def test_a_net_of_minus_a_cent_over_three_customers_is_no_negative_zero(client_as):
    customers = [CustomerFactory(acquired_on=dt.date(2024, 1, 10), reason=reason("advertising")) for _ in range(3)]
    pay(customers[0], "2024-02-10", "-0.01")

    with time_machine.travel(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC), tick=False):
        response = client_as("viewer").get("/reports/cohorts/?grain=customer&format=csv&table=value")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert rows[1][:4] == ["2024-Q1", "bought", "3", "0.00"]
