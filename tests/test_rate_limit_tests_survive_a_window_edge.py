"""The rate-limit tests hold when a counting window ends during them.

django-ratelimit counts in fixed windows of the rate's period whose end depends on the key
(crc32(value) % period): for a test client at 127.0.0.1 and "n/m" the window ends once a minute
at a fixed second. A test that sends its n requests and then expects the (n+1)-th to be refused
gets a 200 whenever that second falls between its requests: the counter starts again at zero.
On a quiet machine a test takes ~0.1 s (one run in 600); on a loaded 2-core CI machine it takes
longer, and the suite has several such tests.

`slow_clock` reproduces it deterministically: the clock is frozen half a second before the window
of the test's address ends, and each request takes 0.2 s. The original test is then run as is:
it passes because its fixture (`fresh_rate_limits`, or the login tests' own) stops the clock.
"""

import time
import zlib

import pytest
import time_machine
from django.core.signals import request_started

from tests.accounting.test_security_regressions import rate_of_three, reason_token  # noqa: F401 - fixtures
from tests.accounting.test_security_regressions import (
    test_the_why_page_is_rate_limited_per_address as why_page_limited,
)
from tests.surveys.test_one_click_unsubscribe_budget import PROVIDER, mail_provider  # noqa: F401 - fixture
from tests.surveys.test_one_click_unsubscribe_budget import (
    test_unknown_and_malformed_tokens_spend_the_budget as guesses_spend_the_budget,
)
from tests.surveys.test_public_answer import invitation  # noqa: F401 - fixture
from tests.surveys.test_public_answer import test_it_rate_limits_per_client_ip as public_answer_limited
from tests.surveys.test_unsubscribe import test_it_is_rate_limited_with_the_answer_page as unsubscribe_limited

PERIOD = 60


def window_end(value: str, now: float) -> int:
    """The last whole second counted in the current window of `value` (django_ratelimit.core._get_window)."""
    ts = int(now)
    end = ts - ts % PERIOD + zlib.crc32(value.encode()) % PERIOD
    return end if end >= ts else end + PERIOD


def _slow_clock(address: str):
    start = window_end(address, time.time()) + 0.5  # still counted in this window, for 0.5 s
    traveller = time_machine.travel(start, tick=False)
    shifter = traveller.start()

    def each_request_takes_a_while(**kwargs):
        shifter.shift(0.2)

    request_started.connect(each_request_takes_a_while, dispatch_uid="audit-timing-slow-clock")
    return traveller, each_request_takes_a_while


@pytest.fixture
def slow_clock():
    """Listed first, so that the fixtures setting the budget start inside it."""
    traveller, receiver = _slow_clock("127.0.0.1")
    yield
    request_started.disconnect(receiver, dispatch_uid="audit-timing-slow-clock")
    traveller.stop()


@pytest.fixture
def slow_clock_provider():
    traveller, receiver = _slow_clock(PROVIDER)
    yield
    request_started.disconnect(receiver, dispatch_uid="audit-timing-slow-clock")
    traveller.stop()


@pytest.mark.django_db
def test_public_answer_rate_limit_test_survives_a_window_edge(
    slow_clock, fresh_rate_limits, client, invitation, settings  # noqa: F811
):
    public_answer_limited(client, invitation, settings, None)


@pytest.mark.django_db
def test_unsubscribe_rate_limit_test_survives_a_window_edge(
    slow_clock, fresh_rate_limits, client, invitation, settings  # noqa: F811
):
    unsubscribe_limited(client, invitation, settings, None)


@pytest.mark.django_db
def test_why_page_rate_limit_test_survives_a_window_edge(slow_clock, client, reason_token):  # noqa: F811
    why_page_limited(client, reason_token)


@pytest.mark.django_db
def test_one_click_budget_test_survives_a_window_edge(slow_clock_provider, mail_provider):  # noqa: F811
    guesses_spend_the_budget(mail_provider, "x" * 43)


@pytest.mark.django_db
def test_guard_login_tests_freeze_the_clock(slow_clock, client, admin, settings):
    """Guard (passes): with the clock frozen as tests/test_login.py's fixture does, the same slow
    clock does not reset the counter."""
    settings.LOGIN_RATE = "3/m"
    with time_machine.travel(time.time(), tick=False):
        statuses = [client.post("/accounts/login/", {"username": admin.username, "password": "wrong"}).status_code
                    for _ in range(4)]
    assert statuses[-1] == 429, statuses
