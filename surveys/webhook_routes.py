"""The bounce and complaint webhooks mounted under /webhooks/anymail/: tracking only, and a 404
from any provider that is not set up here.

django-anymail's URLconf holds every provider's inbound and tracking endpoints. Inbound mail is
not read by this project, so only the tracking endpoints are mounted. A provider whose signing
key or package is missing raises a configuration error while its view is built, before any
credential check: an unauthenticated POST to it would be a server error, logged and mailed to
the admins, that anybody on the internet could cause. It is "not found" instead.
"""

import logging
from functools import wraps

from anymail.exceptions import AnymailConfigurationError, AnymailImproperlyInstalled
from django.http import Http404
from django.urls import URLPattern

logger = logging.getLogger(__name__)


def _configured_only(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (AnymailConfigurationError, AnymailImproperlyInstalled) as exc:
            logger.info("Webhook %s is not set up here: %s", request.path, exc)
            raise Http404("This mail provider's webhook is not set up here.") from None

    return guarded


def tracking_patterns() -> list[URLPattern]:
    from anymail import urls

    return [
        URLPattern(pattern.pattern, _configured_only(pattern.callback), pattern.default_args, pattern.name)
        for pattern in urls.urlpatterns
        if pattern.name and pattern.name.endswith("tracking_webhook")
    ]
