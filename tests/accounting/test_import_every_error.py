"""SPEC §2 Imports: "any bad row → the whole file is rejected with every error listed by row number
and column". A customers row refused for its external_id had its other cells left unchecked, and
parent cycles were checked only in a file with no other error: the user had to fix and upload
again to see the rest."""

import io

import pytest

from accounting.imports import import_file, import_records
from accounting.models import Customer

pytestmark = pytest.mark.django_db

HEADER = b"external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,acquisition_cost,language\n"


def _errors(batch):
    return {(e.row, e.column) for e in batch.errors.all()}


def _import(data: bytes):
    return import_file(kind="customers", file=io.BytesIO(HEADER + data), source="command")


def test_a_row_without_external_id_still_has_its_other_cells_checked():
    batch = _import(b",Ann,not-an-email,2025-02-30,,,,,,1e3,xx\n")
    assert batch.status == "rejected"
    assert _errors(batch) == {
        (2, "external_id"), (2, "email"), (2, "acquired_on"), (2, "acquisition_cost"), (2, "language"),
    }


def test_a_too_long_external_id_row_still_has_its_other_cells_checked():
    batch = _import(b"X" * 101 + b",Ann,not-an-email,,,,,,,,\n")
    assert _errors(batch) == {(2, "external_id"), (2, "email")}


def test_a_repeated_external_id_row_still_has_its_other_cells_checked():
    batch = _import(b"C1,Ann,,,,,,,,,\nC1,Bob,not-an-email,2025-02-30,,,,,,,\n")
    assert batch.status == "rejected"
    assert _errors(batch) == {(3, "external_id"), (3, "email"), (3, "acquired_on")}


def test_a_bad_reason_on_a_repeated_row_leaves_the_first_rows_answer_judged():
    # The repeated row's bad reason cell must not mark the first row's answer as unjudgeable.
    batch = _import(b"C1,Ann,,,other,,,,,,\nC1,Bob,,,nope,,,,,,\n")
    assert _errors(batch) == {(2, "reason_text"), (3, "external_id"), (3, "reason")}


def test_a_row_refused_for_its_external_id_has_its_references_checked():
    batch = _import(b"C1,Ann,,,,,,,,,\n,Bob,,,,,C9,C8,,,\nC1,Cy,,,,,,C1,,,\n")
    assert _errors(batch) == {
        (3, "external_id"), (3, "referred_by"), (3, "parent"), (4, "external_id"), (4, "parent"),
    }
    assert not Customer.objects.exists()


def test_a_parent_cycle_is_listed_beside_another_rows_error():
    batch = _import(b"C1,Ann,not-an-email,,,,,,,,\nC2,Bob,,,,,,C3,,,\nC3,Cy,,,,,,C2,,,\n")
    assert batch.status == "rejected"
    assert _errors(batch) == {(2, "email"), (3, "parent")}
    assert not Customer.objects.exists()


def test_an_own_parent_beside_another_error_is_not_listed_again_as_a_cycle():
    batch = _import(b"C1,Ann,not-an-email,,,,,,,,\nC2,Bob,,,,,,C2,,,\n")
    messages = [(e.row, e.column, e.message) for e in batch.errors.order_by("row")]
    assert messages == [
        (2, "email", "'not-an-email' is not a valid email address"),
        (3, "parent", "a customer cannot be its own parent"),
    ]


def test_the_api_bulk_lists_every_error_of_a_record_without_external_id_too():
    record = {"external_id": "", "email": "nope", "acquired_on": "2025-02-30"}
    batch = import_records(kind="customers", records=[record])
    assert batch.status == "rejected"
    assert _errors(batch) == {(1, "external_id"), (1, "email"), (1, "acquired_on")}
