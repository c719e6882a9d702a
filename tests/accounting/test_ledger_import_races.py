"""Two revenue imports of the same references at once, in different orders (PostgreSQL): both
succeed, each line is in the ledger once, and the roll-up still sums the ledger."""

import threading
import time
from decimal import Decimal

import psycopg.errors
import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models import Sum

from accounting.imports import import_records, ledger
from accounting.models import ImportStatus, RevenueEntry, RevenueQuarter
from tests.factories import CustomerFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fast path, its deadlocks and the roll-up are PostgreSQL's"
)

LINES = 20_000


def lines(refs) -> list[dict]:
    return [{"customer": "C1", "date": "2025-01-01", "amount": "1.00", "external_ref": ref} for ref in refs]


def import_at_once(*files: list[dict]) -> list[tuple[str, str]]:
    """Import each file in its own thread and connection, all starting together."""
    results: list = [None] * len(files)
    start = threading.Barrier(len(files))

    def run(index):
        try:
            start.wait()
            batch = import_records(kind="revenue", records=files[index])
            results[index] = (batch.status, batch.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(files))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def assert_each_line_once(refs):
    assert RevenueEntry.objects.count() == len(refs)
    assert RevenueEntry.objects.values("external_ref").distinct().count() == len(refs)
    ledger_sum = RevenueEntry.objects.aggregate(total=Sum("amount"))["total"]
    assert ledger_sum == Decimal(len(refs))
    assert RevenueQuarter.objects.aggregate(total=Sum("amount"))["total"] == ledger_sum


@pytest.mark.django_db(transaction=True)
def test_two_fast_imports_of_the_same_lines_in_opposite_orders_both_succeed():
    CustomerFactory(external_id="C1")
    refs = [f"s{i:05d}" for i in range(LINES)]

    results = import_at_once(lines(refs), lines(reversed(refs)))

    assert [status for status, _ in results] == [ImportStatus.SUCCEEDED] * 2, results
    assert_each_line_once(refs)


@pytest.mark.django_db(transaction=True)
def test_two_staging_inserts_of_the_same_lines_wait_for_each_other_instead_of_deadlocking(monkeypatch):
    monkeypatch.setattr(ledger, "STAGE_INSERT_ATTEMPTS", 1)  # no second chance: no deadlock at all
    CustomerFactory(external_id="C1")
    import_records(kind="revenue", records=lines(["seen"]))  # sends both files down the staging path
    refs = [f"s{i:05d}" for i in range(LINES)]

    results = import_at_once(lines(["seen", *refs]), lines(["seen", *reversed(refs)]))

    assert [status for status, _ in results] == [ImportStatus.SUCCEEDED] * 2, results
    assert_each_line_once(["seen", *refs])


@pytest.mark.django_db
def test_a_deadlock_on_the_fast_path_sends_the_file_down_the_staging_path(monkeypatch):
    CustomerFactory(external_id="C1")

    def deadlocked(kind, rows, problems, batch_id):
        next(rows)
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    monkeypatch.setattr(ledger, "_copy_into_ledger", deadlocked)

    batch = import_records(kind="revenue", records=lines(["a", "b"]))

    assert (batch.status, batch.rows_created) == (ImportStatus.SUCCEEDED, 2)
    assert sorted(RevenueEntry.objects.values_list("external_ref", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_a_deadlocked_staging_insert_is_tried_again(monkeypatch):
    CustomerFactory(external_id="C1")
    import_records(kind="revenue", records=lines(["seen"]))
    real_insert, calls = ledger._insert_stage_rows, []

    def deadlocks_once(kind, batch_id):
        calls.append(1)
        if len(calls) == 1:
            with connection.cursor() as cursor:  # a write the savepoint must undo
                cursor.execute("UPDATE accounting_revenueentry SET amount = amount")
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")
        return real_insert(kind, batch_id)

    monkeypatch.setattr(ledger, "_insert_stage_rows", deadlocks_once)

    batch = import_records(kind="revenue", records=lines(["seen", "new"]))

    assert (batch.status, batch.rows_created, batch.rows_skipped) == (ImportStatus.SUCCEEDED, 1, 1)
    assert len(calls) == 2
    assert RevenueEntry.objects.count() == 2


@pytest.mark.django_db
def test_a_staging_insert_that_keeps_deadlocking_fails_the_import(monkeypatch):
    CustomerFactory(external_id="C1")
    import_records(kind="revenue", records=lines(["seen"]))
    monkeypatch.setattr(ledger.time, "sleep", lambda seconds: None)

    def deadlocks(kind, batch_id):
        raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")

    monkeypatch.setattr(ledger, "_insert_stage_rows", deadlocks)

    batch = import_records(kind="revenue", records=lines(["seen", "new"]))

    assert batch.status == ImportStatus.FAILED
    assert RevenueEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_import_that_waited_on_lines_with_other_values_is_rejected():
    # Another import holds the same references, at 1.00, uncommitted, when this one (2.00, in the
    # other order) deadlocks with it and takes the staging path: its lines wait, then find them taken.
    customer = CustomerFactory(external_id="C1")
    refs = [f"s{i:05d}" for i in range(200)]
    holding, results = threading.Event(), []
    insert = (
        "INSERT INTO accounting_revenueentry (customer_id, date, amount, external_ref, product, created_at) "
        "SELECT %s, '2025-01-01', 1.00, ref, '', now() FROM unnest(%s::text[]) AS ref"
    )

    def other_import():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert, [customer.pk, refs[:100]])
                holding.set()
                time.sleep(0.5)  # this one now waits on s00099, the first of its reversed file
                cursor.execute(insert, [customer.pk, refs[-1:]])  # ... and it on s00199: a deadlock
                time.sleep(2)  # still uncommitted while the loser runs its staging path
        finally:
            connections.close_all()

    def this_import():
        try:
            records = [{**line, "amount": "2.00"} for line in lines(reversed(refs))]
            results.append(import_records(kind="revenue", records=records))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=other_import), threading.Thread(target=this_import)]
    threads[0].start()
    assert holding.wait(10)
    threads[1].start()
    for thread in threads:
        thread.join(60)

    batch = results[0]
    assert batch.status == ImportStatus.REJECTED, batch.message
    assert "was imported before with other values" in batch.errors.first().message
    assert RevenueEntry.objects.aggregate(total=Sum("amount"))["total"] == Decimal("101.00")  # the other's only
