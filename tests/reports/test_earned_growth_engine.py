"""Earned growth on worked examples (SPEC §3), computed by the database."""

import datetime as dt
from decimal import Decimal

import pytest

from reports.earned_growth import earned_growth
from reports.periods import parse_period
from tests.factories import CustomerFactory, RevenueEntryFactory, reason

pytestmark = pytest.mark.django_db

D = Decimal


def pay(customer, day: str, amount: str):
    return RevenueEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=D(amount))


@pytest.fixture
def company_a(db):
    """SPEC §3: revenue 100 → 130; prior customers bring 85 (+5, −20); new 45 = 25 earned + 20 bought."""
    grows = CustomerFactory(reason=reason("recommendation"))
    shrinks = CustomerFactory(reason=reason("advertising"))
    pay(grows, "2024-03-01", "50.00")
    pay(shrinks, "2024-06-01", "50.00")
    pay(grows, "2025-03-01", "55.00")
    pay(shrinks, "2025-06-01", "30.00")
    pay(CustomerFactory(reason=reason("reputation")), "2025-05-01", "25.00")
    pay(CustomerFactory(reason=reason("promotion")), "2025-07-01", "20.00")


def test_company_a_worked_example(company_a):
    report = earned_growth(period=parse_period("2025"))

    assert (report.prior_revenue, report.revenue) == (D("100.00"), D("130.00"))
    assert report.retained_revenue == D("85.00")
    assert (report.expansion_revenue, report.contraction_revenue, report.churned_revenue) == (D("5"), D("20"), D("0"))
    assert (report.earned_new_revenue, report.bought_new_revenue, report.unknown_new_revenue) == (D("25"), D("20"), D("0"))
    data = report.as_json()
    assert data["nrr"] == "0.85" and data["enc"] == "0.25" and data["bnc"] == "0.2"
    assert data["earned_growth_rate"] == "0.1" and data["total_growth_rate"] == "0.3"
    assert data["earned_growth_share"] == "0.333333"
    assert data["period"] == "2025" and data["prior_period"] == "2024" and data["grain"] == "entity"
    assert data["prior_revenue"] == "100.00" and data["revenue"] == "130.00"


def test_nrr_is_one_plus_expansion_minus_contraction_minus_churn(company_a):
    gone = CustomerFactory()
    pay(gone, "2024-01-01", "40.00")

    r = earned_growth(period=parse_period("2025"))

    assert r.churned_revenue == D("40.00")
    assert r.retained_revenue == r.prior_revenue + r.expansion_revenue - r.contraction_revenue - r.churned_revenue
    assert abs(r.nrr - (1 + r.expansion - r.contraction - r.churn)) < D("1e-20")
    assert r.revenue == r.retained_revenue + r.earned_new_revenue + r.bought_new_revenue + r.unknown_new_revenue


def test_prior_revenue_zero_gives_nulls_with_a_reason(db):
    pay(CustomerFactory(reason=reason("recommendation")), "2025-02-01", "10.00")

    data = earned_growth(period=parse_period("2025")).as_json()

    assert data["nrr"] is None and data["earned_growth_rate"] is None and data["earned_growth_share"] is None
    assert data["revenue"] == "10.00" and data["earned_new_revenue"] == "10.00"
    assert "Revenue in 2024 is 0" in data["notes"][0]
