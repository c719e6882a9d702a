"""Rate limits that fail open: with the shared cache (Redis) down, the request goes through.

A cache outage must not turn a customer's answer, an opt-out or a staff login into a 500, nor make
each request wait for a cache that hangs: after a failure the process leaves the cache alone for
CACHE_PAUSE_SECONDS, serving every limit unlimited, and logs that in one line (not one traceback per
request). The limits are back within those seconds of the cache's return.

Limits per IP address read the client's address where RATELIMIT_IP_META_KEY says (settings):
REMOTE_ADDR by default, a header set by the reverse proxy, or `forwarded_for_ip` below.
"""

import ipaddress
import logging
import time
import unicodedata

from django.conf import settings
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage, is_ratelimited
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}
CACHE_PAUSE_SECONDS = 15


class CacheOutage:
    """When this process may ask the cache again after it failed (time.monotonic)."""

    def __init__(self):
        self.until = 0.0

    def ongoing(self) -> bool:
        return time.monotonic() < self.until

    def begin(self, group: str, exc: RedisError) -> None:
        self.until = time.monotonic() + CACHE_PAUSE_SECONDS
        logger.warning(
            "Rate-limit cache unavailable: %s and every other limit served unlimited for %s s (%s: %s)",
            group, CACHE_PAUSE_SECONDS, type(exc).__name__, exc,
        )

    def end(self) -> None:
        self.until = 0.0


CACHE_OUTAGE = CacheOutage()


def rate_period_seconds(rate: str) -> int:
    """The period a rate counts over, in seconds: 60 for "10/m", 300 for "100/5m", 86400 for "10/d".

    django-ratelimit counts in fixed windows of that period, each ending less than one period after
    any request in it: a refused client who waits one period is always counted afresh, and a shorter
    wait may not be enough. So it is the honest Retry-After."""
    multiple, unit = rate.partition("/")[2][:-1], rate[-1]
    return int(multiple or 1) * PERIOD_SECONDS[unit]


def wait_in_words(seconds: int) -> str:
    """"1 hour", "5 minutes", "90 seconds": the wait in the largest unit that says it exactly, in the
    active language."""
    if seconds % PERIOD_SECONDS["d"] == 0:
        days = seconds // PERIOD_SECONDS["d"]
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    if seconds % PERIOD_SECONDS["h"] == 0:
        hours = seconds // PERIOD_SECONDS["h"]
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    if seconds % PERIOD_SECONDS["m"] == 0:
        minutes = seconds // PERIOD_SECONDS["m"]
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}


def login_retry_after() -> int:
    """Retry-After of a refused login: one period of LOGIN_RATE, as it is when the login is refused."""
    return rate_period_seconds(settings.LOGIN_RATE)


def too_many_login_attempts_message() -> str:
    return f"Too many login attempts. Wait {wait_in_words(login_retry_after())} and try again."


def over_limit(request, *, group: str, key: str, rate) -> bool:
    """Count this request against `rate` for `key` (django-ratelimit); True once over it."""
    if CACHE_OUTAGE.ongoing():
        return False
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
    except RedisError as exc:
        CACHE_OUTAGE.begin(group, exc)
        return False


def budget_spent(request, *, group: str, key: str, rate) -> bool:
    """True when `over_limit` would refuse the next request of this budget; counts nothing. For a
    request that is counted only after a lookup (a one-click unsubscribe), but refused like the others
    once the budget is spent. Fails open without the cache, as `over_limit` does."""
    if CACHE_OUTAGE.ongoing():
        return False
    try:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=False)
    except RedisError as exc:
        CACHE_OUTAGE.begin(group, exc)
        return False
    return usage is not None and usage["count"] >= usage["limit"]


def login_rate(group, request) -> str:
    return settings.LOGIN_RATE


def login_over_limit(request, username: str) -> bool:
    """Count one password attempt against LOGIN_RATE per client address and per username; True
    once over either. The login page, the admin's login and the API's token login all count here,
    in the same two budgets: a guesser refused at one door is refused at the others."""
    # Cleaned as the login forms clean it, so "alice " or a full-width "ａlice" is still alice.
    username = unicodedata.normalize("NFKC", username).strip()
    # Both budgets count every attempt (no short-circuit); a cache outage lets logins through.
    by_address = over_limit(request, group="login:ip", key="ip", rate=login_rate)
    by_username = over_limit(request, group="login:username", key=lambda group, request: username, rate=login_rate)
    return by_address or by_username


def forwarded_for_ip(request) -> str:
    """The client's address from X-Forwarded-For, for RATELIMIT_IP_META_KEY behind
    TRUSTED_PROXY_COUNT reverse proxies that each append the address they were connected from.

    Only the right-most TRUSTED_PROXY_COUNT entries were written by our proxies: whatever is left of
    them the client sent, and a client could send a new address with every request. So the client
    is the TRUSTED_PROXY_COUNT-th entry from the right. A request with fewer entries did not come
    through the proxies (or one is misconfigured) and is counted by REMOTE_ADDR.
    """
    count = settings.TRUSTED_PROXY_COUNT
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in header.split(",")] if header else []
    if len(hops) >= count:
        try:
            return str(ipaddress.ip_address(hops[-count]))
        except ValueError:
            logger.warning("X-Forwarded-For entry %r is no IP address: counted by REMOTE_ADDR", hops[-count])
    return request.META["REMOTE_ADDR"]
