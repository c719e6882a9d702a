"""Shared data of the report tests."""

import pytest

from tests.factories import CustomerFactory, pay, reason


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
