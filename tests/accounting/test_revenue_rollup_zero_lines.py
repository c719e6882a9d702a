"""RevenueQuarter's `positive_lines` (PostgreSQL triggers): what a mutation audit found no test
pinning. Only lines above zero count: the earned-growth report reads them from the roll-up to
tell a reactivated entity from a new one, as the ledger path reads `amount > 0`."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from accounting.models import RevenueQuarter
from tests.factories import CustomerFactory, pay

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the roll-up is kept by PostgreSQL triggers"),
]


def test_a_zero_line_is_summed_but_not_counted_as_positive():
    """A 0.00 line (a free month, a fully discounted invoice) is no positive revenue."""
    customer = CustomerFactory(external_id="ZERO")
    pay(customer, "2025-01-15", "0.00")
    pay(customer, "2025-04-15", "0.00")
    pay(customer, "2025-04-20", "12.00")

    rows = {
        quarter: (amount, positive)
        for quarter, amount, positive in RevenueQuarter.objects.filter(unit_id=customer.pk).values_list(
            "quarter", "amount", "positive_lines"
        )
    }

    assert rows == {
        dt.date(2025, 1, 1): (Decimal("0.00"), 0),
        dt.date(2025, 4, 1): (Decimal("12.00"), 1),
    }
