"""Ledger imports (SPEC §2, §7): what a mutation audit found no test pinning.

A reference imported before comes back with the same values or the file is refused, whichever
value differs; a rejected file fixed elsewhere can be imported again byte for byte; a file with a
bad row still lists its duplicate references (on PostgreSQL the fast COPY path stops writing at
the first bad row); the count of lines added; an empty cost kind; the summary past the listed cap.
"""

import io
from decimal import Decimal

import pytest

from accounting.imports import import_file, problems
from accounting.models import CostEntry, ImportStatus, RevenueEntry
from tests.factories import CostEntryFactory, CustomerFactory, RevenueEntryFactory

pytestmark = pytest.mark.django_db

REVENUE_HEADER = "customer,date,amount,external_ref,product"
COST_HEADER = "customer,date,amount,external_ref,kind,description"


def csv_file(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def import_lines(kind: str, header: str, *lines: str):
    return import_file(kind=kind, file=csv_file(header, *lines), source="command")


def errors(batch) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in batch.errors.all()]


@pytest.fixture
def known(db):
    return [CustomerFactory(external_id="A1"), CustomerFactory(external_id="A2")]


@pytest.mark.parametrize(
    "row",
    [
        pytest.param("A2,2025-01-31,100.00,R1,Plan", id="other customer"),
        pytest.param("A1,2025-02-01,100.00,R1,Plan", id="other date"),
        pytest.param("A1,2025-01-31,100.00,R1,Other plan", id="other product"),
    ],
)
def test_a_known_revenue_reference_with_any_other_value_is_refused(known, row):
    """An external_ref imported before comes back identical or the file is rejected: a line under
    another customer, on another date or for another product is not silently skipped."""
    RevenueEntryFactory(
        customer=known[0], external_ref="R1", date="2025-01-31", amount=Decimal("100.00"), product="Plan"
    )

    batch = import_lines("revenue", REVENUE_HEADER, row)

    assert batch.status == ImportStatus.REJECTED
    [(line, column, message)] = errors(batch)
    assert (line, column) == (2, "external_ref")
    assert "imported before with other values" in message
    assert RevenueEntry.objects.count() == 1


@pytest.mark.parametrize(
    "row",
    [
        pytest.param("A1,2025-01-31,10.00,C1,acquisition,Setup", id="other kind"),
        pytest.param("A1,2025-01-31,10.00,C1,serve,Hosting", id="other description"),
    ],
)
def test_a_known_cost_reference_with_another_kind_or_description_is_refused(known, row):
    """Costs too: a reference whose kind or description changed is refused, not skipped."""
    CostEntryFactory(
        customer=known[0], external_ref="C1", date="2025-01-31", amount=Decimal("10.00"),
        kind="serve", description="Setup",
    )

    batch = import_lines("costs", COST_HEADER, row)

    assert batch.status == ImportStatus.REJECTED
    [(line, column, message)] = errors(batch)
    assert (line, column) == (2, "external_ref")
    assert "imported before with other values" in message
    assert CostEntry.objects.count() == 1


def test_the_same_references_with_the_same_values_are_skipped(known):
    """The other side of the rule above: a true re-import adds nothing and is no error."""
    RevenueEntryFactory(
        customer=known[0], external_ref="R1", date="2025-01-31", amount=Decimal("100.00"), product="Plan"
    )

    batch = import_lines("revenue", REVENUE_HEADER, "A1,2025-01-31,100.00,R1,Plan", "A2,2025-01-31,5.00,R2,")

    assert batch.status == ImportStatus.SUCCEEDED
    assert (batch.rows_created, batch.rows_skipped) == (1, 1)


def test_a_rejected_file_imports_once_its_problem_is_fixed_elsewhere(known):
    """A file refused for an unknown customer is imported, byte for byte the same, once that
    customer exists: only an identical file that SUCCEEDED before is skipped as "identical"."""
    content = ("\n".join([REVENUE_HEADER, "NEW,2025-01-31,9.00,R1,", "A1,2025-01-31,1.00,R2,"]) + "\n").encode()

    first = import_file(kind="revenue", file=io.BytesIO(content), source="ui", filename="r.csv")
    assert first.status == ImportStatus.REJECTED
    CustomerFactory(external_id="NEW")
    second = import_file(kind="revenue", file=io.BytesIO(content), source="ui", filename="r.csv")

    assert second.status == ImportStatus.SUCCEEDED
    assert "Identical to import" not in second.message
    assert second.rows_created == 2
    assert RevenueEntry.objects.count() == 2


def test_a_bad_row_before_a_duplicate_reference_still_lists_both(known):
    """Every error of the file, not just the first kind: on PostgreSQL the fast path stops writing
    at the bad row, so the duplicate further down never reaches the unique index; the file must
    still be checked whole and the duplicate listed."""
    batch = import_lines(
        "revenue", REVENUE_HEADER,
        "ZZ,2025-01-31,1.00,R1,", "A1,2025-01-31,2.00,R2,", "A2,2025-02-28,3.00,R2,",
    )

    assert batch.status == ImportStatus.REJECTED
    assert errors(batch) == [
        (2, "customer", "unknown customer 'ZZ'"),
        (4, "external_ref", "'R2' appears twice in the file (first on row 3)"),
    ]
    assert RevenueEntry.objects.count() == 0


def test_a_bad_row_before_a_changed_reference_still_lists_both(known):
    """As above, for a reference imported before with other values further down the file."""
    RevenueEntryFactory(customer=known[0], external_ref="R9", amount=Decimal("100.00"))

    batch = import_lines("revenue", REVENUE_HEADER, "A1,2025-13-01,1.00,R1,", "A1,2025-01-31,90.00,R9,")

    assert [(row, column) for row, column, _ in errors(batch)] == [(2, "date"), (3, "external_ref")]
    assert RevenueEntry.objects.count() == 1


def test_every_line_of_a_customer_counts_as_added(known):
    """"N added" counts ledger lines, not customers: three lines of one customer are three."""
    batch = import_lines(
        "revenue", REVENUE_HEADER,
        "A1,2025-01-31,1.00,R1,", "A1,2025-02-28,2.00,R2,", "A1,2025-03-31,3.00,R3,",
    )

    assert batch.status == ImportStatus.SUCCEEDED
    assert (batch.rows_total, batch.rows_created, batch.rows_skipped) == (3, 3, 0)
    assert batch.message == "3 row(s): 3 added, 0 updated, 0 already there."


def test_an_empty_cost_kind_is_a_cost_to_serve(known):
    """A costs row with an empty kind cell is a cost to serve (the model's default), never an
    acquisition cost: the cohort report's acquisition cost sums only the latter."""
    batch = import_lines("costs", COST_HEADER, "A1,2025-01-31,10.00,C1,,Hosting")

    assert batch.status == ImportStatus.SUCCEEDED
    assert CostEntry.objects.get(external_ref="C1").kind == "serve"


def test_past_the_listed_cap_the_summary_says_how_many_are_listed(known, monkeypatch):
    """Beyond MAX_LISTED problems the rest are counted, not listed, and the message says so."""
    monkeypatch.setattr(problems, "MAX_LISTED", 2)

    batch = import_lines(
        "revenue", REVENUE_HEADER, "Z1,2025-01-31,1.00,R1,", "Z2,2025-01-31,1.00,R2,", "Z3,2025-01-31,1.00,R3,"
    )

    assert batch.status == ImportStatus.REJECTED
    assert batch.error_count == 3
    assert batch.errors.count() == 2
    assert batch.message == "3 error(s), the first 2 listed; nothing was imported."
