"""Two transactions at once, for tests of locks (PostgreSQL)."""

import threading

from django.db import connections, transaction


def second_waited_for_first(first, second) -> bool:
    """Run `first` in a transaction held open, then `second`; whether `second` had to wait."""
    started, release, errors = threading.Event(), threading.Event(), []

    def hold_first():
        try:
            with transaction.atomic():
                first()
                started.set()
                release.wait(10)  # commit only when told
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
            started.set()
        finally:
            connections.close_all()

    def run_second():
        try:
            second()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold_first), threading.Thread(target=run_second)]
    threads[0].start()
    assert started.wait(10)
    threads[1].start()
    threads[1].join(0.5)
    waited = threads[1].is_alive()
    release.set()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    return waited
