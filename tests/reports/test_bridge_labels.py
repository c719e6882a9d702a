"""The revenue bridge's bar labels: compact amounts, rounded half away from zero."""

from decimal import Decimal

import pytest

from reports.views import compact


@pytest.mark.parametrize(
    ("amount", "signed", "label"),
    [
        ("2625000.00", False, "2.63M"),
        ("160450.00", True, "+160.5k"),
        ("-160450.00", True, "-160.5k"),
        ("1234567890125.00", False, "1,234.57bn"),
        ("-950.005", True, "-950.01"),
        ("950.00", False, "950.00"),
        # Each unit starts at its own size, not one past it.
        ("1000.00", False, "1.0k"),
        ("-1000.00", True, "-1.0k"),
        ("999.99", False, "999.99"),
        ("1000000.00", False, "1.00M"),
        ("1000000000.00", False, "1.00bn"),
    ],
)
def test_a_bar_label_rounds_half_away_from_zero(amount, signed, label):
    """format() alone rounds half to even (2.62M, +160.4k); the README promises away from zero."""
    assert compact(Decimal(amount), signed=signed) == label
