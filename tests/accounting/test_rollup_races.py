"""An import and a move of customers between entities at the same moment (PostgreSQL): the
roll-up the reports read still equals the ledger summed per entity and quarter."""

import pytest
from django.db import connection

from accounting.models import Customer, RevenueQuarter
from accounting.services import customers_refresh_entities
from tests.concurrency import second_waited_for_first
from tests.factories import CustomerFactory, pay

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the roll-up is kept on PostgreSQL"),
]


def rollup():
    return sorted(RevenueQuarter.objects.values_list("unit_id", "quarter", "amount"))


def ledger_summed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(c.entity_id, c.id), date_trunc('quarter', r.date::timestamp)::date, SUM(r.amount) "
            "FROM accounting_customer c JOIN accounting_revenueentry r ON r.customer_id = c.id GROUP BY 1, 2"
        )
        return sorted(cursor.fetchall())


@pytest.fixture
def parent_and_child():
    parent, child = CustomerFactory(external_id="P"), CustomerFactory(external_id="X")
    pay(parent, "2024-03-01", "100.00")
    pay(child, "2024-03-01", "50.00")
    return parent, child


def move_under(child, parent):
    def run():
        Customer.objects.filter(pk=child.pk).update(parent=parent)
        customers_refresh_entities()
    return run


def import_line(child):
    return lambda: pay(child, "2025-02-01", "70.00")


def test_an_import_during_a_move_waits_and_sums_under_the_new_entity(parent_and_child):
    parent, child = parent_and_child

    assert second_waited_for_first(move_under(child, parent), import_line(child))

    assert rollup() == ledger_summed()
    assert {unit for unit, _, _ in rollup()} == {parent.pk}


def test_a_move_during_an_import_waits_and_sums_its_lines(parent_and_child):
    parent, child = parent_and_child

    assert second_waited_for_first(import_line(child), move_under(child, parent))

    assert rollup() == ledger_summed()
    assert {unit for unit, _, _ in rollup()} == {parent.pk}


def test_imports_and_updates_that_move_nobody_do_not_wait(parent_and_child):
    parent, child = parent_and_child

    assert not second_waited_for_first(import_line(child), lambda: pay(parent, "2025-02-01", "5.00"))
    assert not second_waited_for_first(
        import_line(child), lambda: Customer.objects.filter(pk=child.pk).update(segment="SMB")
    )
    assert rollup() == ledger_summed()
