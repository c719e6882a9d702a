"""A lone surrogate (JSON's "\\ud800") in a bulk cell is the row's problem, reported by row and
column (400), never a failed import (500); a CSV holding one in UTF-8 is refused at its row."""

import io
import json

import pytest

from accounting.imports import import_file
from accounting.models import CostEntry, Customer, ImportStatus, RevenueEntry
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LONE = "\ud800"  # json.dumps writes it as JSON's "\\ud800", as a client would send it


@pytest.fixture
def api(api_client_as):
    CustomerFactory(external_id="C1")
    return api_client_as("admin")


def post(api, url: str, records: list[dict]):
    return api.generic("POST", url, json.dumps(records), content_type="application/json")


def row_errors(response) -> list[tuple[int, str]]:
    return [(e["row"], e["column"]) for e in response.json()["errors"]]


def line(ref: str, **cells) -> dict:
    return {"customer": "C1", "date": "2025-01-01", "amount": "1.00", "external_ref": ref, **cells}


def test_a_revenue_line_with_a_lone_surrogate_is_a_row_error(api):
    response = post(api, "/api/revenue/", [line("ok"), line("r2", product=LONE)])

    assert response.status_code == 400
    assert row_errors(response) == [(2, "product")]
    assert "surrogate" in response.json()["errors"][0]["message"]
    assert not RevenueEntry.objects.exists()


def test_a_revenue_reference_with_a_lone_surrogate_is_a_row_error(api):
    response = post(api, "/api/revenue/", [line(f"r{LONE}")])

    assert response.status_code == 400
    assert row_errors(response) == [(1, "external_ref")]


def test_a_cost_line_with_a_lone_surrogate_is_a_row_error(api):
    response = post(api, "/api/costs/", [line("k", description=LONE)])

    assert response.status_code == 400
    assert row_errors(response) == [(1, "description")]
    assert not CostEntry.objects.exists()


@pytest.mark.parametrize("column", ["name", "external_id", "reason_text", "segment"])
def test_a_customer_with_a_lone_surrogate_is_a_row_error(api, column):
    record = {"external_id": "Z1", "reason": "other", "reason_text": "x", column: LONE}

    response = post(api, "/api/customers/bulk/", [record])

    assert response.status_code == 400
    assert row_errors(response) == [(1, column)]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["C1"]


def test_a_surrogate_in_the_middle_of_a_cell_is_found_too(api):
    response = post(api, "/api/costs/", [line("k", description="abc\udfffdef")])

    assert response.status_code == 400
    assert row_errors(response) == [(1, "description")]


def test_a_lone_surrogate_encoded_in_a_csv_file_rejects_the_file_at_its_row(db):
    CustomerFactory(external_id="C1")
    data = b"customer,date,amount,external_ref,product\nC1,2025-01-01,1.00,a,x\nC1,2025-01-01,1.00,b\xed\xa0\x80,x\n"

    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")

    assert batch.status == ImportStatus.REJECTED
    assert [(e.row, e.message) for e in batch.errors.all()] == [(3, "the file is not UTF-8 text")]
    assert not RevenueEntry.objects.exists()
