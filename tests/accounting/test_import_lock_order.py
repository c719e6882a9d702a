"""A revenue or costs import beside a customer import of the same customers (PostgreSQL): both
succeed, whichever path the ledger import takes.

A ledger import writes its lines, takes the entity-move lock ("cxrq") shared, then locks its
customers FOR KEY SHARE in id order; a customer import that moves customers takes "cxrq"
exclusively before it locks them FOR UPDATE, and locks them in id order too. So neither ever holds
what the other waits for while waiting for what the other holds."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum

from accounting.imports import import_records, ledger
from accounting.models import CostEntry, Customer, ImportStatus, ReasonCategory, RevenueEntry, RevenueQuarter
from tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two real connections and the roll-up triggers"),
]

KNOWN = {"customer": "A", "date": "2025-01-01", "amount": "5.00", "external_ref": "r1"}
NEW = {"customer": "A", "date": "2025-02-01", "amount": "7.00", "external_ref": "r2"}
LEDGERS = {"revenue": RevenueEntry, "costs": CostEntry}


@pytest.fixture(autouse=True)
def other_category():
    # A transactional test may start after another one flushed the seeded categories.
    ReasonCategory.objects.get_or_create(slug=ReasonCategory.OTHER_SLUG, defaults={"label": "Other", "kind": "unknown"})


def in_thread(results: dict, name: str, work) -> threading.Thread:
    def run():
        try:
            results[name] = work()
        except Exception as exc:  # noqa: BLE001 - reported by the test's asserts
            results[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def lock_waits(count: int) -> list[str]:
    """What the backends of this database blocked on a lock wait for ('advisory', 'tuple',
    'transactionid'), once `count` of them are."""
    deadline = time.monotonic() + 10
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waits = [event for (event,) in cursor.fetchall()]
        if len(waits) >= count or time.monotonic() > deadline:
            return waits
        time.sleep(0.05)


def status_of(result) -> tuple:
    return (getattr(result, "status", result), getattr(result, "message", ""))


@pytest.mark.parametrize("kind", LEDGERS)
@pytest.mark.parametrize("path", ["fast", "staging"])
def test_a_customer_import_moving_a_customer_waits_for_a_ledger_import_that_locked_it(monkeypatch, kind, path):
    CustomerFactory(external_id="A")
    parent = CustomerFactory(external_id="P")
    lines = [NEW]
    if path == "staging":  # a line already in the ledger sends the file down the staging path
        assert import_records(kind=kind, records=[KNOWN]).status == ImportStatus.SUCCEEDED
        lines = [KNOWN, NEW]
    real_lock, holding, go = ledger._lock_customers, threading.Event(), threading.Event()

    def locked_then_paused(named):
        gone = real_lock(named)
        holding.set()
        go.wait(20)
        return gone

    monkeypatch.setattr(ledger, "_lock_customers", locked_then_paused)
    results: dict = {}

    threads = [in_thread(results, "ledger", lambda: import_records(kind=kind, records=lines))]
    try:
        assert holding.wait(20)
        move = {"external_id": "A", "name": "Renamed", "parent": "P"}
        threads.append(in_thread(results, "customers", lambda: import_records(kind="customers", records=[move])))
        waits = lock_waits(1)
    finally:
        go.set()
        for thread in threads:
            thread.join(60)

    # It waited on the lock of entity moves, holding no customer the ledger import could still need.
    assert waits == ["advisory"]
    assert (status_of(results["ledger"])[0], status_of(results["customers"])[0]) == (ImportStatus.SUCCEEDED,) * 2, (
        results
    )
    assert LEDGERS[kind].objects.count() == len(lines)
    assert Customer.objects.get(external_id="A").parent == parent
    if kind == "revenue":  # the move came after the lines: they are summed under the new entity
        quarters = RevenueQuarter.objects.filter(unit_id=parent.pk).aggregate(total=Sum("amount"))
        assert quarters["total"] == sum(Decimal(line["amount"]) for line in lines)


@pytest.mark.parametrize("kind", LEDGERS)
def test_a_customer_import_locks_its_customers_in_the_ledger_imports_order(kind):
    # Ids in one order, external ids in the other.
    first, second = CustomerFactory(external_id="Z1"), CustomerFactory(external_id="A2")
    assert first.pk < second.pk
    holding, release, results = threading.Event(), threading.Event(), {}

    def hold_first_as_an_import_does():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounting_customer WHERE id = %s FOR KEY SHARE", [first.pk])
            holding.set()
            release.wait(20)

    rows = [{"external_id": c.external_id, "name": "Renamed"} for c in (first, second)]
    lines = [{**NEW, "customer": c.external_id, "external_ref": c.external_id} for c in (first, second)]
    threads = [in_thread(results, "holder", hold_first_as_an_import_does)]
    try:
        assert holding.wait(20)
        # The customer import waits for the first customer: in id order, holding none yet.
        threads.append(in_thread(results, "customers", lambda: import_records(kind="customers", records=rows)))
        assert len(lock_waits(1)) == 1
        # The ledger import shares the first customer with the holder, then locks the second.
        threads.append(in_thread(results, "ledger", lambda: import_records(kind=kind, records=lines)))
        threads[-1].join(3)  # past deadlock_timeout: a deadlock would be the customer import's to find
    finally:
        release.set()
        for thread in threads:
            thread.join(60)

    assert (status_of(results["ledger"])[0], status_of(results["customers"])[0]) == (ImportStatus.SUCCEEDED,) * 2, (
        results
    )
    assert set(Customer.objects.values_list("name", flat=True)) == {"Renamed"}
    assert LEDGERS[kind].objects.count() == 2
