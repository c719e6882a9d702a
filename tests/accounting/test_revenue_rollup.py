"""RevenueQuarter: PostgreSQL's triggers keep it equal to the ledger summed per entity and quarter,
whatever writes the ledger or moves a customer to another entity."""

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounting.demo import demo_delete
from accounting.imports import import_file
from accounting.models import Customer, ImportStatus, RevenueEntry, RevenueQuarter
from accounting.services import customers_refresh_entities
from tests.factories import CustomerFactory, pay

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the roll-up is kept by PostgreSQL triggers"
)


def rollup() -> dict:
    return {
        (unit, quarter): (amount, positive)
        for unit, quarter, amount, positive in RevenueQuarter.objects.values_list(
            "unit_id", "quarter", "amount", "positive_lines"
        )
    }


def expected() -> dict:
    """The ledger summed in Python, entity by entity and quarter by quarter."""
    unit = {pk: entity or pk for pk, entity in Customer.objects.values_list("pk", "entity_id")}
    sums = defaultdict(lambda: [Decimal("0.00"), 0])
    for customer, day, amount in RevenueEntry.objects.values_list("customer_id", "date", "amount"):
        key = (unit[customer], dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
        sums[key][0] += amount
        sums[key][1] += amount > 0
    return {key: (amount, positive) for key, (amount, positive) in sums.items()}


@pytest.fixture
def group(db):
    """ACME with a division, and a customer of its own."""
    acme = CustomerFactory(external_id="ACME")
    division = CustomerFactory(external_id="ACME-EU", parent=acme)
    solo = CustomerFactory(external_id="SOLO")
    return acme, division, solo


def test_each_line_lands_in_its_entity_and_quarter(group):
    acme, division, solo = group
    pay(acme, "2025-01-01", "100.00")
    pay(division, "2025-03-31", "50.00")
    pay(division, "2025-04-01", "-20.00")  # a refund: counted in the sum, not as a positive line
    pay(solo, "2025-02-14", "7.50")

    assert rollup() == {
        (acme.pk, dt.date(2025, 1, 1)): (Decimal("150.00"), 2),
        (acme.pk, dt.date(2025, 4, 1)): (Decimal("-20.00"), 0),
        (solo.pk, dt.date(2025, 1, 1)): (Decimal("7.50"), 1),
    }


def test_an_imported_file_is_added_in_one_statement_and_a_repeat_adds_nothing(group):
    acme, division, solo = group
    lines = b"customer,date,amount,external_ref,product\n" + b"".join(
        f"{customer},2025-{month:02d}-15,{month}0.00,R{customer}{month},Pro\n".encode()
        for customer in ("ACME", "ACME-EU", "SOLO") for month in range(1, 13)
    )
    for _ in range(2):
        batch = import_file(kind="revenue", file=io.BytesIO(lines), filename="r.csv", source="command")

    assert batch.rows_created == 0
    assert RevenueEntry.objects.count() == 36
    assert rollup() == expected()
    assert rollup()[(acme.pk, dt.date(2025, 4, 1))] == (Decimal("300.00"), 6)  # ACME's and ACME-EU's 40+50+60


def test_a_rejected_file_leaves_the_rollup_as_it_was(group):
    acme, _, _ = group
    pay(acme, "2025-01-01", "100.00")
    before = rollup()
    bad = b"customer,date,amount,external_ref,product\nACME,2025-05-01,10.00,OK,\nNOBODY,2025-05-01,1.00,X,\n"

    batch = import_file(kind="revenue", file=io.BytesIO(bad), filename="bad.csv", source="command")

    assert batch.status == ImportStatus.REJECTED
    assert rollup() == before


def test_a_new_parent_moves_the_divisions_revenue_to_the_new_entity(group):
    acme, division, solo = group
    pay(acme, "2025-01-10", "100.00")
    pay(division, "2025-01-20", "40.00")
    pay(solo, "2025-01-30", "5.00")

    Customer.objects.filter(pk=division.pk).update(parent=solo)
    customers_refresh_entities()

    assert rollup() == expected() == {
        (acme.pk, dt.date(2025, 1, 1)): (Decimal("100.00"), 1),
        (solo.pk, dt.date(2025, 1, 1)): (Decimal("45.00"), 2),
    }


def test_a_division_cut_loose_becomes_its_own_entity_in_the_rollup(group):
    acme, division, _ = group
    pay(acme, "2025-07-01", "100.00")
    pay(division, "2025-07-02", "40.00")

    Customer.objects.filter(pk=division.pk).update(parent=None)
    customers_refresh_entities()

    assert rollup() == {
        (acme.pk, dt.date(2025, 7, 1)): (Decimal("100.00"), 1),
        (division.pk, dt.date(2025, 7, 1)): (Decimal("40.00"), 1),
    }


def test_removing_lines_sums_the_entities_again(group):
    acme, division, solo = group
    pay(acme, "2025-01-10", "100.00")
    pay(division, "2025-01-20", "40.00")
    pay(solo, "2025-01-30", "5.00")
    lines = RevenueEntry.objects.filter(customer=division)

    lines._raw_delete(lines.db)

    assert rollup() == expected()
    assert rollup()[(acme.pk, dt.date(2025, 1, 1))] == (Decimal("100.00"), 1)


def test_a_line_changed_in_place_is_summed_again_where_it_was_and_where_it_is(group):
    # The application never updates the ledger; a hand-made fix in SQL must still keep the sums.
    acme, _, solo = group
    line = pay(acme, "2025-01-10", "100.00")
    pay(solo, "2025-01-30", "5.00")

    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounting_revenueentry SET customer_id = %s, date = %s WHERE id = %s",
                       [solo.pk, dt.date(2025, 4, 2), line.pk])

    assert rollup() == expected() == {
        (solo.pk, dt.date(2025, 1, 1)): (Decimal("5.00"), 1),
        (solo.pk, dt.date(2025, 4, 1)): (Decimal("100.00"), 1),
    }


def test_the_demo_reset_leaves_no_demo_revenue_in_the_rollup(db):
    keep = CustomerFactory(external_id="REAL")
    pay(keep, "2025-01-10", "9.00")
    demo = CustomerFactory(external_id="DEMO-1")
    pay(demo, "2025-01-10", "1.00")

    demo_delete()

    assert rollup() == {(keep.pk, dt.date(2025, 1, 1)): (Decimal("9.00"), 1)}


def test_a_truncated_ledger_empties_the_rollup(group):
    pay(group[0], "2025-01-10", "100.00")

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounting_revenueentry")

    assert rollup() == {}


def test_a_rolled_back_insert_rolls_the_rollup_back(group):
    pay(group[0], "2025-01-10", "100.00")
    before = rollup()

    with transaction.atomic():
        pay(group[0], "2025-01-11", "1.00")
        transaction.set_rollback(True)

    assert rollup() == before
