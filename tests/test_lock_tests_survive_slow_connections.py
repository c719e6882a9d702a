"""The lock tests' "did not wait for the lock" holds on a slow machine.

tests/concurrency.py's while_first_is_held once decided that the second transaction had waited
when it was still running half a second after it started: on a loaded machine (PostgreSQL forking
a backend per connection) a second that never waited failed the test. It now asks PostgreSQL
(pg_blocking_pids). `slow_new_connections` makes opening a connection in another thread take
0.6 s, with no lock involved: the original tests below must still pass.
"""

import threading
import time

import pytest
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

from tests.accounting.test_ledger_customer_delete_race import customer  # noqa: F401 - fixture
from tests.accounting.test_ledger_customer_delete_race import (
    test_a_customer_the_import_does_not_name_is_deleted_without_waiting_for_it as delete_other_customer,
)
from tests.accounting.test_rollup_races import parent_and_child  # noqa: F401 - fixture
from tests.accounting.test_rollup_races import (
    test_imports_and_updates_that_move_nobody_do_not_wait as rollup_no_wait,
)
from tests.surveys.test_invitation_races import (
    test_triggers_for_different_customers_do_not_wait_for_each_other as triggers_no_wait,
)
from tests.surveys.test_launch_races import (
    test_a_launch_does_not_hold_back_an_edit_of_its_customers as launch_edit_no_wait,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock tests run on PostgreSQL only"),
]


@pytest.fixture
def slow_new_connections(monkeypatch):
    real = DatabaseWrapper.get_new_connection
    main = threading.main_thread()

    def slow(self, conn_params):
        if threading.current_thread() is not main:
            time.sleep(0.6)
        return real(self, conn_params)

    monkeypatch.setattr(DatabaseWrapper, "get_new_connection", slow)


@pytest.fixture
def no_enqueue(monkeypatch):
    """The autouse fixture of the surveys' race modules (rows stay queued)."""
    monkeypatch.setattr("surveys.launch._enqueue_sending", lambda countdown=0, tell=None: None)


def test_rollup_no_wait_test_survives_a_slow_connection(slow_new_connections, parent_and_child):  # noqa: F811
    rollup_no_wait(parent_and_child)


def test_delete_race_no_wait_test_survives_a_slow_connection(slow_new_connections, customer):  # noqa: F811
    delete_other_customer(customer)


def test_trigger_no_wait_test_survives_a_slow_connection(slow_new_connections, no_enqueue):
    triggers_no_wait()


def test_launch_edit_no_wait_test_survives_a_slow_connection(slow_new_connections, no_enqueue):
    launch_edit_no_wait()


def test_guard_the_deadlock_test_keeps_its_outcome_with_a_slow_connection(slow_new_connections):
    """Guard (passes): tests/accounting/test_ledger_import_races.py's fixed sleeps (0.5 s, 2 s) assume
    the second import reaches its locks within half a second; when it does not, there is no
    deadlock, but the outcome the test asserts (rejected, the other's lines only) is the same."""
    from tests.accounting.test_ledger_import_races import (
        test_an_import_that_waited_on_lines_with_other_values_is_rejected as waited_on_other_values,
    )

    waited_on_other_values()
