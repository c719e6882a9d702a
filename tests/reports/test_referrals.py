"""Referrals: the customers each referrer brought in and their revenue, with the page and its CSV."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from reports import cohort_views
from reports.periods import parse_period
from reports.referrals import referral_totals, referrer_list, referrer_rows
from tests.factories import CustomerFactory, UserFactory, pay

pytestmark = pytest.mark.django_db

D = Decimal
URL = "/reports/referrals/"



@pytest.fixture
def network():
    """Alice brought in Xavier (three lines, one a refund) and Yves; Bob brought in Zoe, who brought in Walt.

    Carol referred nobody. Revenue in 2025: Xavier 50, Yves 10, Zoe 0, Walt 70.
    """
    alice = CustomerFactory(external_id="ALICE", name="Alice")
    bob = CustomerFactory(external_id="BOB", name="Bob")
    CustomerFactory(external_id="CAROL", name="Carol")
    xavier = CustomerFactory(external_id="XAVIER", referred_by=alice)
    yves = CustomerFactory(external_id="YVES", referred_by=alice)
    zoe = CustomerFactory(external_id="ZOE", name="Zoe", referred_by=bob)
    walt = CustomerFactory(external_id="WALT", referred_by=zoe)
    pay(xavier, "2024-05-01", "100.00")
    pay(xavier, "2025-02-01", "70.00")
    pay(xavier, "2025-03-01", "-20.00")
    pay(yves, "2025-04-01", "10.00")
    pay(zoe, "2024-06-01", "200.00")
    pay(walt, "2025-01-15", "70.00")
    pay(alice, "2025-01-01", "999.00")  # a referrer's own revenue is not referral revenue
    return {"alice": alice, "bob": bob, "zoe": zoe}


def rows(**kwargs):
    return [(r.external_id, r.referred, r.revenue, r.period_revenue) for r in referrer_rows(referrer_list(**kwargs))]


def test_it_lists_referrers_by_the_revenue_of_those_they_brought_in(network):
    # Xavier's three lines count once each: no join fan-out between referrals and revenue.
    assert rows() == [
        ("BOB", 1, D("200.00"), None),
        ("ALICE", 2, D("160.00"), None),
        ("ZOE", 1, D("70.00"), None),
    ]


def test_within_a_period_it_ranks_by_that_periods_revenue(network):
    assert rows(period=parse_period("2025")) == [
        ("ZOE", 1, D("70.00"), D("70.00")),
        ("ALICE", 2, D("160.00"), D("60.00")),
        ("BOB", 1, D("200.00"), D("0.00")),
    ]


def test_the_totals(network):
    totals = referral_totals(period=parse_period("2025"))

    assert (totals.referrers, totals.referred) == (3, 4)
    assert (totals.revenue, totals.period_revenue) == (D("430.00"), D("130.00"))
    assert referral_totals().period_revenue is None


def test_the_list_is_one_query_however_many_referrers(django_assert_num_queries):
    for n in range(30):
        referrer = CustomerFactory()
        for _ in range(2):
            pay(CustomerFactory(referred_by=referrer), "2025-01-01", f"{n}.50")

    with django_assert_num_queries(1):
        result = rows(period=parse_period("2025-Q1"))

    assert len(result) == 30
    assert result[0][1:] == (2, D("59.00"), D("59.00"))


# --- The page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_every_staff_role_sees_the_page(client_as, role, network):
    response = client_as(role).get(URL)

    assert response.status_code == 200
    assert [r.external_id for r in response.context["page_obj"]] == ["BOB", "ALICE", "ZOE"]


def test_it_sends_anonymous_visitors_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_rejects_a_user_without_the_report_permission(client):
    client.force_login(UserFactory())

    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv"}).status_code == 403


def test_the_page_has_a_chart_of_the_top_twenty_and_a_csv_link(client_as, network):
    response = client_as("viewer").get(URL, {"period": "2025"})
    html = response.content.decode()

    assert "vendor/plotly.min.js" in html and "js/charts.js" in html
    assert 'data-chart="referrers"' in html
    assert "format=csv" in html
    data = json.loads(html.split('id="referral-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    chart = data["charts"]["referrers"]["data"][0]
    assert chart["y"] == ["Zoe (ZOE)", "Alice (ALICE)", "Bob (BOB)"]
    assert chart["x"] == [70.0, 60.0, 0.0]
    assert chart["customdata"] == [1, 2, 1]


def test_it_paginates_fifty_referrers_a_page_and_charts_twenty(client_as, django_assert_max_num_queries):
    for n in range(51):
        pay(CustomerFactory(referred_by=CustomerFactory(external_id=f"R{n:03d}")), "2025-01-01", f"{n + 1}.00")
    client = client_as("viewer")

    with django_assert_max_num_queries(9):
        first = client.get(URL)
    second = client.get(URL, {"page": 2})

    assert len(first.context["page_obj"]) == 50
    assert first.context["page_obj"][0].external_id == "R050"
    assert [r.external_id for r in second.context["page_obj"]] == ["R000"]
    assert len(second.context["data"]["charts"]["referrers"]["data"][0]["y"]) == 20
    assert second.context["data"]["charts"]["referrers"]["data"][0]["y"][0].endswith("(R050)")


def test_a_bad_period_is_a_bad_request(client_as):
    client = client_as("viewer")

    response = client.get(URL, {"period": "2025-13"})
    assert response.status_code == 400
    assert "is not a period" in response.content.decode()
    assert client.get(URL, {"period": "last year", "format": "csv"}).status_code == 400


def test_a_name_with_markup_is_plain_text_in_the_chart(client_as):
    pay(
        CustomerFactory(referred_by=CustomerFactory(external_id="X1", name='<a href="javascript:x()">A</a>')),
        "2025-01-01",
        "1.00",
    )

    response = client_as("viewer").get(URL)

    label = response.context["data"]["charts"]["referrers"]["data"][0]["y"][0]
    assert label == '&lt;a href="javascript:x()"&gt;A&lt;/a&gt; (X1)'
    assert '<a href="javascript' not in response.content.decode()


# --- CSV ---------------------------------------------------------------------------------------------


def download(client, **params) -> list[list[str]]:
    response = client.get(URL, {"format": "csv", **params})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_csv_has_every_referrer(client_as, network):
    assert download(client_as("analyst"), period="2025") == [
        ["referrer_external_id", "referrer_name", "referred_customers", "revenue", "revenue_2025"],
        ["ZOE", "Zoe", "1", "70.00", "70.00"],
        ["ALICE", "Alice", "2", "160.00", "60.00"],
        ["BOB", "Bob", "1", "200.00", "0.00"],
    ]


def test_csv_cells_that_could_run_as_formulas_are_neutralised(client_as):
    referrer = CustomerFactory(external_id="@EVIL", name='=HYPERLINK("http://evil.example","click")')
    pay(CustomerFactory(referred_by=referrer), "2025-01-01", "-5.00")

    rows = download(client_as("viewer"))

    assert rows[1] == ["'@EVIL", '\'=HYPERLINK("http://evil.example","click")', "1", "-5.00"]


def test_it_builds_each_referrer_as_it_is_read(network):
    read = []

    def cursor():
        for row in referrer_list():
            read.append(row["external_id"])
            yield row

    first = next(iter(referrer_rows(cursor())))

    assert first.external_id == "BOB"
    assert read == ["BOB"]  # the rest not yet read, let alone built


def test_the_csv_sends_the_first_referrer_before_reading_the_next(client_as, network, monkeypatch):
    """The export streams from the cursor: nothing holds every referrer before the first row goes out."""
    read = []

    class Counted:
        def __init__(self, queryset):
            self.queryset = queryset

        def iterator(self, chunk_size):
            for row in self.queryset.iterator(chunk_size=chunk_size):
                read.append(row["external_id"])
                yield row

    monkeypatch.setattr(cohort_views, "referrer_list", lambda period: Counted(referrer_list(period=period)))
    response = client_as("analyst").get(URL, {"format": "csv"})
    chunks = iter(response.streaming_content)
    next(chunks), next(chunks)  # byte order mark, header

    assert b"BOB" in next(chunks)
    assert read == ["BOB"]
    b"".join(chunks)  # to the end: PostgreSQL's server-side cursor closes inside this test's transaction


def test_the_csv_is_one_query_however_many_referrers(client_as, django_assert_num_queries):
    for n in range(30):
        pay(CustomerFactory(referred_by=CustomerFactory(external_id=f"R{n:03d}")), "2025-01-01", f"{n + 1}.00")
    response = client_as("viewer").get(URL, {"format": "csv", "period": "2025"})

    with django_assert_num_queries(1):
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert len(rows) == 31 and rows[1][0] == "R029"
