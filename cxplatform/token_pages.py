"""What every public page whose address holds an emailed token shares (survey answers, unsubscribe,
acquisition reasons): headers that keep the token private, one "link not found" page, and one
budget of requests per client IP address (SURVEY_PUBLIC_RATE) for all of them, counted before
the token is even looked up, so guessing tokens is slow on every one of these pages."""

from django.conf import settings
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from .ratelimits import over_limit

LINK_NOT_FOUND_TEMPLATE = "public/link_not_found.html"
RATE_LIMITED_TEMPLATE = "public/rate_limited.html"
RATE_GROUP = "public:token-pages"


def private(response):
    """Headers for every page whose address holds a token."""
    add_never_cache_headers(response)  # Cache-Control: ..., no-store, private
    # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the form's POST,
    # which the CSRF check refuses; same-origin still keeps the token from every other site.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def link_not_found(request):
    """One fixed page for every token that opens nothing: it never tells a guesser which it was."""
    return private(render(request, LINK_NOT_FOUND_TEMPLATE, status=404))


def _public_rate(group, request):
    """Read at request time, so tests and the benchmark can change it."""
    return settings.SURVEY_PUBLIC_RATE or None


def over_public_limit(request) -> bool:
    """Count this request in the client's budget (failing open without the cache); True once over it."""
    return over_limit(request, group=RATE_GROUP, key="ip", rate=_public_rate)


def rate_limited(request):
    response = render(request, RATE_LIMITED_TEMPLATE, status=429)
    response["Retry-After"] = "60"
    return private(response)
