"""Rate limits that fail open: with the shared cache (Redis) down, the request goes through.

A cache outage must not turn a customer's answer, an opt-out or a staff login into a 500; it is
logged, and the limit is back as soon as the cache is.

Limits per IP address read the client's address where RATELIMIT_IP_META_KEY says (settings):
REMOTE_ADDR by default, a header set by the reverse proxy, or `forwarded_for_ip` below.
"""

import ipaddress
import logging
import unicodedata

from django.conf import settings
from django_ratelimit.core import get_usage, is_ratelimited
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LOGIN_RETRY_AFTER_SECONDS = 60
TOO_MANY_LOGIN_ATTEMPTS = "Too many login attempts. Wait a minute and try again."


def over_limit(request, *, group: str, key: str, rate) -> bool:
    """Count this request against `rate` for `key` (django-ratelimit); True once over it."""
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
    except RedisError:
        logger.warning("Rate-limit cache unavailable: %s served unlimited", group, exc_info=True)
        return False


def budget_spent(request, *, group: str, key: str, rate) -> bool:
    """True when `over_limit` would refuse the next request of this budget; counts nothing. For a
    request that is counted only after a lookup (a one-click unsubscribe), but refused like the others
    once the budget is spent. Fails open without the cache, as `over_limit` does."""
    try:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=False)
    except RedisError:
        logger.warning("Rate-limit cache unavailable: %s served unlimited", group, exc_info=True)
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
