"""Two transactions at once, for tests of locks (PostgreSQL)."""

import threading
from dataclasses import dataclass

from django.db import connections, transaction


@dataclass
class Second:
    waited: bool  # still running half a second after it started: blocked by the first
    result: object = None
    error: Exception | None = None


def while_first_is_held(first, second) -> Second:
    """Run `first` in a transaction held open, then `second`; what `second` did. An error of
    `first` fails the test; one of `second` is returned (some tests expect it to refuse)."""
    started, release, first_errors = threading.Event(), threading.Event(), []
    outcome = Second(waited=False)

    def hold_first():
        try:
            with transaction.atomic():
                first()
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
    threads[1].join(0.5)
    outcome.waited = threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(10)
    assert not first_errors, first_errors
    return outcome


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
