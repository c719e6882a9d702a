"""Two transactions at once, for tests of locks (PostgreSQL)."""

import threading
import time
from dataclasses import dataclass

from django.db import connection, connections, transaction


@dataclass
class Second:
    waited: bool  # blocked on a lock the first held
    result: object = None
    error: Exception | None = None


def while_first_is_held(first, second) -> Second:
    """Run `first` in a transaction held open, then `second`; what `second` did. An error of
    `first` fails the test; one of `second` is returned (some tests expect it to refuse)."""
    started, release, first_errors, first_pid = threading.Event(), threading.Event(), [], []
    outcome = Second(waited=False)

    def hold_first():
        try:
            with transaction.atomic():
                first()
                first_pid.append(_backend_pid())
                started.set()
                release.wait(10)  # commit only when told
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            first_errors.append(exc)
            started.set()
        finally:
            connections.close_all()

    def run_second():
        try:
            outcome.result = second()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            outcome.error = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold_first), threading.Thread(target=run_second)]
    threads[0].start()
    assert started.wait(10)
    threads[1].start()
    outcome.waited = _blocked_until_done(threads[1], first_pid[0] if first_pid else None)
    release.set()
    for thread in threads:
        thread.join(10)
    assert not first_errors, first_errors
    return outcome


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _blocked_until_done(second: threading.Thread, first_pid: int | None, patience: float = 30) -> bool:
    """Whether `second` came to wait on a lock of the first's backend before it ended. Read from
    PostgreSQL, not from the clock: on a loaded machine a second that never waits can still take
    longer than any fixed time to connect and finish (it once was "still running after 0.5 s")."""
    deadline = time.monotonic() + patience
    while second.is_alive() and first_pid is not None:
        with connection.cursor() as cursor:
            # pg_locks is read live; pg_stat_activity would be one snapshot for a caller in a transaction.
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted"
                           " AND %s = ANY(pg_blocking_pids(pid)))", [first_pid])
            if cursor.fetchone()[0]:
                return True
        if time.monotonic() > deadline:
            return True  # neither blocked nor done: as good as blocked, and the test says so
        second.join(0.02)
    return False


def second_waited_for_first(first, second) -> bool:
    """Run `first` in a transaction held open, then `second`; whether `second` had to wait.
    Either one failing fails the test."""
    outcome = while_first_is_held(first, second)
    assert outcome.error is None, outcome.error
    return outcome.waited


def token_api_clients(role: str):
    """A maker of API clients signed in with one token of a user with `role`: each thread of a
    race test needs its own client, all of them the same user."""
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from tests.factories import UserFactory

    _, token = AuthToken.objects.create(UserFactory(role=role))

    def make():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make
