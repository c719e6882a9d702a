"""Rate limits while the cache is down or hung: every request goes through, without waiting for the
cache again and again, and the operator reads one line, not a traceback per request."""

import logging
import socket
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from cxplatform import ratelimits
from tests.factories import InvitationFactory
from tests.test_deploy_settings import _run

pytestmark = pytest.mark.django_db


def test_a_dead_cache_is_asked_once_per_pause_and_logged_in_one_line(client, settings, monkeypatch, caplog):
    """Each request asked the dead cache (a hung one costs its socket timeout each time: 30 answer
    pages took 50 s on three gunicorn workers) and logged a 60-line traceback."""
    settings.SURVEY_PUBLIC_RATE = "1/m"
    invitation = InvitationFactory()
    asked = []

    def down(*args, **kwargs):
        asked.append(kwargs["group"])
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(ratelimits, "is_ratelimited", down)
    with caplog.at_level(logging.WARNING, logger="cxplatform.ratelimits"):
        statuses = [client.get(f"/s/{invitation.token}/").status_code for _ in range(5)]

    assert statuses == [200] * 5  # failing open, over the budget of 1 a minute
    assert asked == ["public:token-pages"]
    (line,) = caplog.records
    assert line.exc_info is None
    assert line.getMessage() == (
        "Rate-limit cache unavailable: public:token-pages and every other limit served unlimited for "
        f"{ratelimits.CACHE_PAUSE_SECONDS} s (ConnectionError: Error 111 connecting to 127.0.0.1:6379. "
        "Connection refused.)"
    )


def test_the_limits_are_back_once_the_pause_is_over(client, settings, monkeypatch):
    settings.SURVEY_PUBLIC_RATE = "1/m"
    invitation = InvitationFactory()
    real = ratelimits.is_ratelimited

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(ratelimits, "is_ratelimited", down)
    assert client.get(f"/s/{invitation.token}/").status_code == 200
    monkeypatch.setattr(ratelimits, "is_ratelimited", real)  # the cache is back

    assert client.get(f"/s/{invitation.token}/").status_code == 200  # still paused: not counted
    assert 0 < ratelimits.CACHE_OUTAGE.until - time.monotonic() <= ratelimits.CACHE_PAUSE_SECONDS
    ratelimits.CACHE_OUTAGE.until = time.monotonic() - 1  # the pause is over
    assert [client.get(f"/s/{invitation.token}/").status_code for _ in range(2)] == [200, 429]


def test_a_hung_cache_fails_within_the_broker_s_timeout_not_redis_py_s_default():
    """A Redis that accepts connections and never answers held each rate-limited request 5 s (redis-py's
    default); the cache now has the broker's socket timeouts."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as hung:  # never accepts, never answers
        port = hung.getsockname()[1]
        code = (
            "import django, os, time; os.environ['DJANGO_SETTINGS_MODULE'] = 'cxplatform.settings'; django.setup(); "
            "from django.core.cache import cache; from redis.exceptions import TimeoutError; start = time.monotonic()\n"
            "try: cache.get('k')\n"
            "except TimeoutError: print(round(time.monotonic() - start, 1))"
        )
        result = _run(code, REDIS_URL=f"redis://127.0.0.1:{port}/1")

    assert result.stdout.strip(), result.stderr
    assert float(result.stdout) < 4, result.stdout
