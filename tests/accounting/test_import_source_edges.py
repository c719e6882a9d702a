"""Edges of reading an uploaded CSV: rows Excel writes that the user cannot see, and what the
Imports page turns away before the importer reads the file."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounting.imports import import_file, import_records
from accounting.models import CostEntry, Customer, ImportBatch, ImportStatus, RevenueEntry
from surveys.importing import import_responses
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("accounting:import-list")
REVENUE_HEADER = b"customer,date,amount,external_ref,product"


def errors(batch: ImportBatch) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in batch.errors.order_by("row", "column")]


def upload(client, data: bytes, kind: str = "revenue"):
    file = SimpleUploadedFile(f"{kind}.csv", data, content_type="text/csv")
    return client.post(LIST_URL, {"kind": kind, "file": file})


# --- Rows of empty cells ---------------------------------------------------------------------------


def test_rows_of_empty_cells_that_excel_writes_after_the_data_are_blank_rows():
    """Excel's "Save as CSV" writes `,,,,` for rows that were formatted or whose contents were
    deleted: blank rows in the spreadsheet, not rows whose every cell is missing."""
    CustomerFactory(external_id="A1")
    data = REVENUE_HEADER + b"\r\nA1,2025-01-05,5.00,r1,x\r\n,,,,\r\n,,,,\r\n"

    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")

    assert batch.status == ImportStatus.SUCCEEDED, errors(batch)
    assert RevenueEntry.objects.count() == 1
    assert batch.rows_total == 1


@pytest.mark.parametrize(
    "blank",
    [b",,,,", b" , ,\t, , ", b'"","","","",""', b",,", b",,,,,,,"],
    ids=["commas", "spaces", "quoted", "narrower", "wider"],
)
def test_a_row_of_empty_cells_of_any_width_is_skipped_and_keeps_its_row_number(blank):
    """The rows after a blank one are still numbered as the spreadsheet numbers them."""
    CustomerFactory(external_id="A1")
    data = b"\n".join([REVENUE_HEADER, b"A1,2025-01-05,5.00,r1,x", blank, b"A1,2025-13-01,5.00,r2,x", b""])

    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")

    assert [(row, column) for row, column, _ in errors(batch)] == [(4, "date")]


def test_a_row_of_empty_cells_but_a_nul_is_no_blank_row():
    CustomerFactory(external_id="A1")
    data = REVENUE_HEADER + b"\nA1,2025-01-05,5.00,r1,x\n,,,,\x00\n"

    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")

    assert errors(batch) == [(3, "product", "contains a NUL character")]


def test_customers_and_costs_files_skip_rows_of_empty_cells_too():
    customers = (
        b"external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,"
        b"acquisition_cost,language\r\nA1,Acme,,2024-02-01,,,,,,,\r\n,,,,,,,,,,\r\n"
    )
    costs = b"customer,date,amount,external_ref,kind,description\r\nA1,2025-01-05,2.00,c1,serve,\r\n,,,,,\r\n"

    first = import_file(kind="customers", file=io.BytesIO(customers), source="command")
    second = import_file(kind="costs", file=io.BytesIO(costs), source="command")

    assert first.status == ImportStatus.SUCCEEDED, errors(first)
    assert second.status == ImportStatus.SUCCEEDED, errors(second)
    assert (Customer.objects.count(), CostEntry.objects.count()) == (1, 1)


def test_historical_answers_skip_rows_of_empty_cells_too():
    CustomerFactory(external_id="C1")
    data = (
        b"customer,survey,score,answered_at,comment,touchpoint\r\n"
        b"C1,Legacy NPS,9,2025-03-01,fine,\r\n,,,,,\r\n"
    )

    outcome = import_responses(io.BytesIO(data))

    assert outcome.ok, outcome.problems.listed
    assert outcome.created == 1


# --- Rows left out for their shape are rows read ------------------------------------------------------

# Each kind's header and a good row; the row of the wrong width has one cell more.
GOOD_ROWS = {
    "customers": (
        b"external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,"
        b"acquisition_cost,language", b"A1,Acme,,2024-02-01,,,,,,,",
    ),
    "costs": (b"customer,date,amount,external_ref,kind,description", b"A1,2025-01-05,2.00,c1,serve,"),
    "responses": (b"customer,survey,score,answered_at,comment,touchpoint", b"A1,Legacy NPS,9,2025-03-01,fine,"),
}


@pytest.mark.parametrize("kind", GOOD_ROWS)
def test_a_rejected_file_of_any_kind_counts_its_rows_of_the_wrong_width_as_read(kind):
    """They are reported by the reader and reach no loader: the rows read must still count them."""
    CustomerFactory(external_id="A1")
    header, good = GOOD_ROWS[kind]
    data = b"\n".join([header, good, good.replace(b"A1", b"A1,A2", 1), b""])

    batch = import_file(kind=kind, file=io.BytesIO(data), source="command")

    assert errors(batch) == [(3, "", f"expected {header.count(b',') + 1} cells, found {header.count(b',') + 2}")]
    assert batch.rows_total == 2


def test_a_row_with_a_cell_the_database_cannot_store_is_a_row_read():
    CustomerFactory(external_id="A1")
    data = REVENUE_HEADER + b"\nA1,2025-01-05,5.00,r1,x\nA1,2025-01-06,5.00,r2,caf\x00e\n"

    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")

    assert errors(batch) == [(3, "product", "contains a NUL character")]
    assert batch.rows_total == 2


def test_an_api_record_that_is_no_object_is_a_row_read():
    CustomerFactory(external_id="A1")
    record = {"customer": "A1", "date": "2025-01-05", "amount": "5.00", "external_ref": "r1"}

    batch = import_records(kind="revenue", records=[record, "A1,2025-01-06,5.00,r2"])

    assert errors(batch) == [(2, "", "expected an object")]
    assert batch.rows_total == 2


# --- What the Imports page turns away ---------------------------------------------------------------


def test_an_upload_with_a_nul_in_a_cell_names_its_row_and_column(client_as):
    """The command reports a NUL character by row and column; so does the Imports page, which took
    any NUL in the first 4 KiB for a spreadsheet and kept no import record."""
    CustomerFactory(external_id="A1")
    data = REVENUE_HEADER + b"\nA1,2025-01-05,5.00,r1,caf\x00e\n"

    upload(client_as("analyst"), data)

    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.REJECTED
    assert list(batch.errors.values_list("row", "column")) == [(2, "product")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "it looks like a spreadsheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00", "it looks like a spreadsheet"),
        ("\ufeffcustomer,date\r\nA1,2025-01-05\r\n".encode("utf-16-le"), "UTF-16"),
        ("\ufeffcustomer,date\r\n".encode("utf-16-be"), "UTF-16"),
        ("\ufeffcustomer,date\r\n".encode("utf-32-le"), "UTF-16"),
        ("customer,date\r\nA1,2025-01-05\r\n".encode("utf-16-le"), "UTF-16"),
    ],
    ids=["xlsx", "xls", "utf-16-le", "utf-16-be", "utf-32", "utf-16 without a BOM"],
)
def test_the_page_turns_away_a_workbook_or_wide_text_saved_as_csv(client_as, content, message):
    response = upload(client_as("analyst"), content)

    assert response.status_code == 400
    assert "This is not a CSV text file" in response.text
    assert message in response.text
    assert not ImportBatch.objects.exists()
