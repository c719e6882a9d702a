"""tests/concurrency.py, which the lock tests stand on: a wait is seen as a wait, none as none."""

import pytest
from django.db import connection, transaction

from tests.concurrency import second_waited_for_first, while_first_is_held

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock tests run on PostgreSQL only"),
]


def advisory(key):
    def take():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    return take


def noop():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_a_wait_on_the_first_is_seen():
    assert second_waited_for_first(advisory(7301), advisory(7301))


def test_no_wait_is_seen_as_none():
    assert not second_waited_for_first(advisory(7302), advisory(7303))
    assert not second_waited_for_first(advisory(7304), noop)


def test_a_refusing_second_is_returned_not_raised():
    def refuse():
        raise ValueError("no")

    outcome = while_first_is_held(advisory(7305), refuse)
    assert not outcome.waited and isinstance(outcome.error, ValueError)


def test_a_wait_is_seen_when_the_caller_is_inside_a_transaction():
    # pg_stat_activity is one snapshot per transaction: read in an atomic block, the second's new
    # backend never appeared in it and the wait went unseen.
    with transaction.atomic():
        with connection.cursor() as cursor:  # anything this transaction read before
            cursor.execute("SELECT count(*) FROM pg_stat_activity")
        waited = second_waited_for_first(advisory(7306), advisory(7306))
    assert waited
