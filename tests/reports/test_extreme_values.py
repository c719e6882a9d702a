"""Extreme and degenerate data through the reports: regressions found by an audit of the edges."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection

from accounting.imports import import_file
from accounting.models import ImportStatus, RevenueEntry, RevenueQuarter
from reports import nps_formulas as f
from surveys.models import InvitationState
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db

MAX = "999999999999.99"  # the largest amount a ledger line takes: 12 digits before the dot
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the roll-up's triggers")


def revenue_file(customer: str, lines: int, prefix: str) -> io.BytesIO:
    rows = "".join(f"{customer},2025-02-01,{MAX},{prefix}{n},\n" for n in range(lines))
    return io.BytesIO(("customer,date,amount,external_ref,product\n" + rows).encode())


@on_postgresql
def test_a_quarter_of_many_largest_lines_fits_the_roll_up():
    """101 lines of the largest amount sum to 15 digits before the dot, past numeric(16,2)."""
    CustomerFactory(external_id="BIG")
    batch = import_file(kind="revenue", file=revenue_file("BIG", 101, "B"), filename="big.csv", source="command")
    assert batch.status == ImportStatus.SUCCEEDED, batch.message
    assert RevenueEntry.objects.count() == 101
    assert RevenueQuarter.objects.get().amount == Decimal(MAX) * 101


@on_postgresql
def test_moving_a_customer_sums_two_entities_of_large_lines_without_overflow(api_client_as):
    CustomerFactory(external_id="P")
    child = CustomerFactory(external_id="K")
    for external_id in ("P", "K"):
        batch = import_file(kind="revenue", file=revenue_file(external_id, 60, external_id), filename="f.csv",
                            source="command")
        assert batch.status == ImportStatus.SUCCEEDED
    response = api_client_as("admin").patch(f"/api/customers/{child.pk}/", {"parent": "P"}, format="json")
    assert response.status_code == 200
    assert RevenueQuarter.objects.get().amount == Decimal(MAX) * 120


@pytest.mark.parametrize("period", ["1900", "1900-Q1", "1900-01", "1901-Q2"])
def test_recomputing_an_early_period_skips_the_trend_before_1900(period, client_as):
    """The trend reaches back 3 years, 8 quarters or 12 months: none before the first year a report takes."""
    response = client_as("admin").post(
        "/reports/earned-growth/recompute/", {"period": period, "compare": "prior", "grain": "entity"}
    )
    assert response.status_code == 302


def test_the_respondents_revenue_share_is_never_above_the_whole(api_client_as):
    """A respondent with 100.00 and a credit note of 60.00 elsewhere: no share (not 250 %)."""
    survey, respondent, other = SurveyFactory(), CustomerFactory(), CustomerFactory()
    when = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
    invitation = InvitationFactory(survey=survey, customer=respondent, state=InvitationState.RESPONDED, sent_at=when)
    ResponseFactory(invitation=invitation, score=9, answered_at=when)
    pay(respondent, "2025-05-01", "100.00")
    pay(other, "2025-05-01", "-60.00")

    report = api_client_as("viewer").get("/api/reports/nps/", {"period": "2025-Q2"}).json()

    assert report["revenue_share_of_respondents"] is None


def test_earned_growth_figures_of_large_sums_match_the_documented_schema(api_client_as):
    """0.01 of revenue, then two of the largest lines: a growth rate of 15 digits, and the schema
    must not promise fewer."""
    customer = CustomerFactory()
    pay(customer, "2024-06-01", "0.01")
    pay(customer, "2025-06-01", MAX)
    pay(customer, "2025-06-01", MAX)
    api = api_client_as("viewer")
    properties = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"][
        "EarnedGrowthReport"]["properties"]

    report = api.get("/api/reports/earned-growth/", {"period": "2025"}).json()

    assert Decimal(report["total_growth_rate"]) > 10**14
    outside = {
        key: value for key, value in report.items()
        if isinstance(value, str) and "pattern" in properties.get(key, {})
        and not re.fullmatch(properties[key]["pattern"].strip("^$"), value)
    }
    assert outside == {}


def test_one_answer_against_one_answer_is_not_judged():
    """Both margins are 0 with one answer each: a change of -200 is not "significant"."""
    change = f.change((1, 0, 1), (0, 1, 1))
    assert (change.significant, change.too_few) == (False, True)
    assert f.change((1000, 0, 1000), (0, 0, 1000)).significant  # all promoters to all passives: real
