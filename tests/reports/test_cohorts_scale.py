"""The cohorts report reads only the ledger lines inside its 24-month window (it summed the whole
ledger by unit and month on every view: 5–12 s for 50,000 customers; now ~3 s, bench/cohorts.py),
and its figures did not move."""

import datetime as dt
from decimal import Decimal

import pytest

from accounting.models import CostKind
from reports.cohorts import cohort_report
from reports.earned_growth import CUSTOMER, ENTITY
from tests.factories import CostEntryFactory, CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = dt.date(2027, 6, 15)  # every age of the 2024 cohorts reached


def cost(customer, day: str, amount: str, kind=CostKind.SERVE):
    CostEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=D(amount), kind=kind)


@pytest.fixture
def window_ledger():
    """Two earned units of 2024-Q1 with lines on both sides of their window (ages 0 to 24).

    A  acquired 2024-01-10, acquisition cost 25 (age 0)
       revenue  999 (2023-12, before), 100 (0), 40 (3), 30 (12), 20 (24), 500 (25: after)
       serve      7 (2023-12, before), 10 (3), 60 (25: after)
       acquisition entries 50 (2023-11: before the acquisition, still counted), 70 (26: after)
       net: 3 → 100 + 40 − 10 − 50 − 25 = 55; 6 → 55; 12 → 85; 24 → 105
    B  acquired 2024-02-29, with a child customer whose lines are B's at entity grain
       child revenue 80 (2024-01, before B's month), 30 (3), 900 (25: after); B revenue 10 (24)
       net: 3 → 30; 6 → 30; 12 → 30; 24 → 40
    """
    a = CustomerFactory(acquired_on=dt.date(2024, 1, 10), reason=reason("recommendation"), acquisition_cost=D("25"))
    for day, amount in [
        ("2023-12-20", "999"),
        ("2024-01-15", "100"),
        ("2024-04-01", "40"),
        ("2025-01-31", "30"),
        ("2026-01-05", "20"),
        ("2026-02-01", "500"),
    ]:
        pay(a, day, amount)
    cost(a, "2023-12-31", "7")
    cost(a, "2024-04-30", "10")
    cost(a, "2026-02-01", "60")
    cost(a, "2023-11-15", "50", kind=CostKind.ACQUISITION)
    cost(a, "2026-03-01", "70", kind=CostKind.ACQUISITION)

    b = CustomerFactory(acquired_on=dt.date(2024, 2, 29), reason=reason("reputation"))
    child = CustomerFactory(acquired_on=dt.date(2023, 6, 1), reason=reason("reputation"), parent=b)
    pay(child, "2024-01-10", "80")
    pay(child, "2024-05-10", "30")
    pay(child, "2026-03-01", "900")
    pay(b, "2026-02-28", "10")


def test_lines_outside_the_window_change_no_figure(window_ledger):
    report = cohort_report(as_of=AS_OF, grain=ENTITY)

    (row,) = [row for row in report.rows if str(row.cohort) == "2024-Q1"]
    assert (row.kind, row.customers) == ("earned", 2)
    assert row.retention == (D("1"), D("0"), D("0.5"), D("1"))
    assert row.net == (D("85.00"), D("85.00"), D("115.00"), D("145.00"))
    assert row.net_per_customer == (D("42.50"), D("42.50"), D("57.50"), D("72.50"))


def test_at_customer_grain_each_customer_has_its_own_window(window_ledger):
    report = cohort_report(as_of=AS_OF, grain=CUSTOMER, by="month")

    rows = {str(row.cohort): row for row in report.rows}
    # The child, acquired 2023-06: its 2024-01 line is at age 7, its 2024-05 line at 11, the rest after 24.
    assert rows["2023-06"].retention == (D("0"), D("0"), D("0"), D("0"))
    assert rows["2023-06"].net == (D("0.00"), D("0.00"), D("110.00"), D("110.00"))
    assert rows["2024-02"].net == (D("0.00"), D("0.00"), D("0.00"), D("10.00"))
    assert rows["2024-01"].net == (D("55.00"), D("55.00"), D("85.00"), D("105.00"))
