"""Housekeeping of logins: the expired staff sessions and API tokens nothing else deletes.

Django deletes a session row at logout only (`clearsessions` is left to the operator), and knox an
expired token only when its user presents a token again: sessions left to expire and the tokens of
an integration that stopped calling would stay in the database for good.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone
from knox.models import AuthToken

logger = logging.getLogger(__name__)

# An expired token is kept this long, so that an integration coming back is told "Token expired;
# log in again" (cxplatform.api_auth) rather than "Invalid token.".
EXPIRED_TOKENS_KEPT_DAYS = 30


@shared_task(ignore_result=True)
def clear_expired_logins() -> dict:
    """Daily: delete expired sessions (what `clearsessions` does) and API tokens expired for more
    than EXPIRED_TOKENS_KEPT_DAYS; returns how many of each. Live ones are never touched: running
    it again, or twice at once, deletes nothing more."""
    now = timezone.now()
    sessions = Session.objects.filter(expire_date__lt=now).delete()[0]
    tokens = AuthToken.objects.filter(expiry__lt=now - timedelta(days=EXPIRED_TOKENS_KEPT_DAYS)).delete()[0]
    if sessions or tokens:
        logger.info("Deleted %s expired session(s) and %s expired API token(s)", sessions, tokens)
    return {"sessions": sessions, "tokens": tokens}
