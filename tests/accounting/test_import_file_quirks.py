"""Files as spreadsheets and CRMs write them: regressions found by an audit of real exports."""

import io
import time

import pytest

from accounting.imports import import_file
from accounting.imports.customers import _check_parent_cycles
from accounting.imports.problems import Problems
from accounting.models import ImportBatch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

REVENUE_HEADER = b"customer,date,amount,external_ref,product"


def errors(batch: ImportBatch) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in batch.errors.order_by("row")]


def test_malformed_csv_in_the_header_is_on_row_1():
    data = b'customer,"date"x,amount,external_ref,product\nA1,2025-01-05,5.00,r1,\n'
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    [(row, _, message)] = errors(batch)
    assert (batch.status, row) == ("rejected", 1)
    assert "malformed CSV" in message


def test_malformed_csv_after_a_data_row_is_on_its_own_row():
    CustomerFactory(external_id="A1")
    data = REVENUE_HEADER + b'\nA1,2025-01-05,5.00,r1,\nA1,"2025-01-06"x,5.00,r2,\n'
    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")
    [(row, _, message)] = errors(batch)
    assert row == 3 and "malformed CSV" in message


@pytest.mark.parametrize("newline", [b"\r", b"\r\n", b"\n"], ids=["CR (Excel for Mac)", "CRLF", "LF"])
def test_a_file_not_in_utf8_names_the_row_of_its_first_bad_byte_whatever_its_line_endings(newline):
    CustomerFactory(external_id="A1")
    rows = [REVENUE_HEADER, b"A1,2025-01-05,5.00,r1,ok", b"A1,2025-01-06,5.00,r2,caf\xe9", b""]
    batch = import_file(kind="revenue", file=io.BytesIO(newline.join(rows)), source="command")
    assert errors(batch) == [(3, "", "the file is not UTF-8 text")]


def test_a_lone_cr_split_from_its_lf_between_two_reads_is_one_line_end():
    from accounting.imports.source import _byte_lines

    data = b"a,b\r\nc,d\re,f\ng,h"
    for chunk in (1, 2, 3, 4, 64):
        assert list(_byte_lines(io.BytesIO(data), chunk=chunk)) == [b"a,b\r\n", b"c,d\r", b"e,f\n", b"g,h"]


def test_the_parent_cycle_check_of_a_deep_hierarchy_is_not_cubic():
    """One parent chain 3,000 deep (a CRM export with a mis-mapped parent column): each customer
    was walked to the top with the path kept in a list, minutes for the Imports page."""
    parsed = {f"C{n}": (n + 2, {"parent": f"C{n - 1}"} if n else {}) for n in range(3000)}
    problems = Problems()
    started = time.monotonic()
    _check_parent_cycles(parsed, problems)
    assert not problems
    assert time.monotonic() - started < 1.0


def test_every_cycle_is_reported_once_on_its_first_row_and_only_cycles_are():
    """A → B → C → A and D → E → D, with F and G hanging under the first cycle (not on it)."""
    parents = {"F": "A", "A": "B", "B": "C", "C": "A", "G": "F", "D": "E", "E": "D", "H": None}
    parsed = {name: (row, {"parent": parent} if parent else {}) for row, (name, parent)
              in enumerate(parents.items(), start=2)}
    problems = Problems()
    _check_parent_cycles(parsed, problems)
    assert [(row, column, text) for row, column, text in problems.listed] == [
        (3, "parent", "parent cycle: A → B → C → A"),
        (7, "parent", "parent cycle: D → E → D"),
    ]
