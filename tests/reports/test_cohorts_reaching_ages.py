"""An "All cohorts" row takes each age over the cohorts old enough to reach it: the page, the CSVs
and the charts say how many customers stand behind each age, so that a cumulated figure falling
between two ages reads as a smaller population, not as lost value."""

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
import time_machine

from reports.cohorts import cohort_report
from tests.factories import CustomerFactory, pay

pytestmark = pytest.mark.django_db

URL = "/reports/cohorts/"
TODAY = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
ON_TODAY = time_machine.travel(TODAY, tick=False)


@pytest.fixture
def two_unknown_cohorts():
    """Two customers of unknown reason: 2025-Q2 has reached 12 months by December 2026, 2026-Q1 not."""
    older = CustomerFactory(acquired_on=dt.date(2025, 6, 20))
    newer = CustomerFactory(acquired_on=dt.date(2026, 2, 10))
    pay(older, "2025-06-25", "50.00")
    pay(newer, "2026-02-15", "500.00")
    pay(newer, "2026-08-15", "500.00")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def table_rows(html: str, section: str) -> list[str]:
    table = html.split(f'id="{section}-title"', 1)[1].split("</table>", 1)[0]
    return [text_of(row).strip() for row in re.findall(r"<tr[^>]*>.*?</tr>", table, re.S)]


def download(client, table: str) -> list[list[str]]:
    response = client.get(URL, {"format": "csv", "table": table})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_all_cohorts_row_counts_fewer_customers_at_the_ages_only_older_cohorts_reached(two_unknown_cohorts):
    (unknown,) = cohort_report(as_of=TODAY.date()).totals

    assert unknown.customers == 2
    assert unknown.base == (2, 2, 1, 0)
    assert unknown.net_per_customer == (Decimal("275.00"), Decimal("525.00"), Decimal("50.00"), None)


@ON_TODAY
def test_the_page_gives_the_customers_behind_each_age_under_each_all_cohorts_row(client_as, two_unknown_cohorts):
    html = client_as("viewer").get(URL).content.decode()

    for section in ("retention", "value"):
        rows = table_rows(html, section)
        total = next(i for i, row in enumerate(rows) if row.startswith("All cohorts Unknown 2 "))
        assert rows[total + 1] == "Unknown: customers reaching the age 2 2 1 0", section
    assert "In the All cohorts rows each age counts only the cohorts old enough to reach it" in text_of(html)


@ON_TODAY
def test_the_cohort_csvs_end_with_the_customers_reaching_each_age(client_as, two_unknown_cohorts):
    client = client_as("viewer")
    reaching = ["customers_reaching_3m", "customers_reaching_6m", "customers_reaching_12m", "customers_reaching_24m"]

    retention = download(client, "retention")
    assert retention[0] == ["cohort", "class", "customers", "retention_3m", "retention_6m", "retention_12m",
                            "retention_24m", *reaching]  # fmt: skip
    assert ["All cohorts", "unknown", "2", "0.000000", "0.500000", "0.000000", "", "2", "2", "1", "0"] in retention

    value = download(client, "value")
    assert value[0] == ["cohort", "class", "customers", "net_per_customer_3m", "net_per_customer_6m",
                        "net_per_customer_12m", "net_per_customer_24m", *reaching]  # fmt: skip
    assert ["2025-Q2", "unknown", "1", "50.00", "50.00", "50.00", "", "1", "1", "1", "0"] in value
    assert ["2026-Q1", "unknown", "1", "500.00", "1000.00", "", "", "1", "1", "0", "0"] in value
    assert ["All cohorts", "unknown", "2", "275.00", "525.00", "50.00", "", "2", "2", "1", "0"] in value


@ON_TODAY
def test_the_charts_hover_names_the_customers_behind_each_point(client_as, two_unknown_cohorts):
    html = client_as("viewer").get(URL).content.decode()
    data = json.loads(html.split('id="cohort-data" type="application/json">', 1)[1].split("</script>", 1)[0])

    for chart in ("retention", "value"):
        (trace,) = data["charts"][chart]["data"]
        assert trace["customdata"] == [2, 2, 1, 0]
        assert "%{customdata} customer" in trace["hovertemplate"]
    assert data["charts"]["value"]["data"][0]["y"] == [275.0, 525.0, 50.0, None]
