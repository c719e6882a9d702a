"""Cells and headers of SPEC §7 files that one entry point took and another refused, or that
stopped the reading of a file."""

import io

import pytest

from accounting.imports import import_file, import_records
from accounting.imports.columns import CUSTOMER_COLUMNS
from accounting.imports.source import MAX_CELL
from accounting.models import Customer, RevenueEntry
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = ",".join(CUSTOMER_COLUMNS).encode() + b"\n"
REVENUE = b"customer,date,amount,external_ref,product"


def _errors(batch):
    return {(e.row, e.column) for e in batch.errors.all()}


@pytest.mark.parametrize("cost", ["-0", "-0.00"])
def test_a_zero_acquisition_cost_written_minus_zero_is_not_negative(cost):
    """The revenue importer takes "-0" as 0.00; the customers importer called the same zero negative."""
    data = CUSTOMERS + f"C1,Ann,,,,,,,,{cost},\n".encode()
    batch = import_file(kind="customers", file=io.BytesIO(data), source="command")
    assert batch.status == "succeeded", [e.message for e in batch.errors.all()]
    assert Customer.objects.get(external_id="C1").acquisition_cost == 0


def test_a_negative_acquisition_cost_is_still_refused():
    batch = import_file(kind="customers", file=io.BytesIO(CUSTOMERS + b"C1,Ann,,,,,,,,-0.01,\n"), source="command")
    assert [(e.row, e.column, e.message) for e in batch.errors.all()] == [
        (2, "acquisition_cost", "'-0.01' must not be negative"),
    ]


def test_a_very_long_cell_is_reported_in_its_column_as_the_api_reports_it():
    """API bulk: (row 1, 'product', 'at most 200 characters'). CSV: 'malformed CSV: field larger
    than field limit (131072)' with no column, 0 rows read and every later row left unchecked."""
    CustomerFactory(external_id="A1")
    long = "x" * 200_000
    api = import_records(kind="revenue", records=[{"customer": "A1", "date": "2025-01-05", "amount": "1",
                                                    "external_ref": "r1", "product": long}])
    assert _errors(api) == {(1, "product")}
    data = REVENUE + f"\nA1,2025-01-05,1,r1,{long}\nA1,2025-02-30,1,r2,\n".encode()
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    assert batch.status == "rejected"
    assert _errors(batch) == {(2, "product"), (3, "date")}
    assert batch.rows_total == 2


@pytest.mark.parametrize("quote", ["", '"'])
def test_a_cell_above_the_readers_bound_is_too_long_and_the_next_rows_are_still_checked(quote):
    CustomerFactory(external_id="A1")
    huge = quote + "x" * (MAX_CELL + 1) + quote
    data = REVENUE + f"\nA1,2025-01-05,1,r1,{huge}\nA1,2025-02-30,1,r2,\n".encode()
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    assert [(e.row, e.column, e.message) for e in batch.errors.order_by("row")] == [
        (2, "", f"cell too long: more than {MAX_CELL:,} characters"),
        (3, "date", "'2025-02-30' is not a valid calendar date"),
    ]
    assert batch.rows_total == 2


def test_unnamed_empty_columns_at_the_end_of_the_header_are_no_columns():
    """Excel's "Save as CSV" writes `a,b,c,,` and `1,2,3,,` for a formatted column beyond the data."""
    CustomerFactory(external_id="A1")
    data = REVENUE + b",,\nA1,2025-01-05,1,r1,,,\r\nA1,2025-01-06,2,r2,, ,\n"
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    assert batch.status == "succeeded", [e.message for e in batch.errors.all()]
    assert RevenueEntry.objects.count() == 2


def test_a_value_under_an_unnamed_column_at_the_end_is_an_error():
    CustomerFactory(external_id="A1")
    data = REVENUE + b",,\nA1,2025-01-05,1,r1,,,x\nA1,2025-02-30,1,r2,,,\n"
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    assert [(e.row, e.column, e.message) for e in batch.errors.order_by("row")] == [
        (2, "#7", "a value in a column with no name in the header"),
        (3, "date", "'2025-02-30' is not a valid calendar date"),
    ]
    assert batch.rows_total == 2


def test_an_unnamed_column_before_a_named_one_is_still_unknown():
    data = b"customer,,date,amount,external_ref,product\n"
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    assert _errors(batch) == {(1, "#2")}
