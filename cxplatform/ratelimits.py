"""Rate limits that fail open: with the shared cache (Redis) down, the request goes through.

A cache outage must not turn a customer's answer, an opt-out or a staff login into a 500; it is
logged, and the limit is back as soon as the cache is.
"""

import logging

from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def over_limit(request, *, group: str, key: str, rate) -> bool:
    """Count this request against `rate` for `key` (django-ratelimit); True once over it."""
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
    except RedisError:
        logger.warning("Rate-limit cache unavailable: %s served unlimited", group, exc_info=True)
        return False
