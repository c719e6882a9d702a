"""What every public page whose address holds an emailed token shares (survey answers, unsubscribe,
acquisition reasons): headers that keep the token private, one "link not found" page, and one
budget of requests per client IP address (SURVEY_PUBLIC_RATE) for all of them, counted before
the token is even looked up, so guessing tokens is slow on every one of these pages."""

import re

from django import forms
from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from .ratelimits import budget_spent, over_limit, rate_period_seconds, wait_in_words

LINK_NOT_FOUND_TEMPLATE = "public/link_not_found.html"
RATE_LIMITED_TEMPLATE = "public/rate_limited.html"
RATE_GROUP = "public:token-pages"
# Every address that holds an emailed token: the answer and unsubscribe pages, the reason page.
# The token may be empty (`/s//`, a link whose token a mail client or a template lost): that is
# a customer's link too, and gets their "link not found" page, not the staff's 404. A link whose
# final slash a mail client trimmed (`/s/<token>`) is one too: Django's 301 to it holds the token.
TOKEN_ADDRESS = re.compile(r"^/(s|why)/([^/]*)(?:/|$)")


class TextareaField(forms.CharField):
    """The text of a token page's textarea, its line breaks counted as the browser counts them.

    A browser counts a line break as one character against the textarea's maxlength but submits
    it as CRLF (two): a text that fitted the box would be refused as too long. Line breaks become
    LF before max_length is checked (and so are stored as LF).
    """

    def to_python(self, value):
        text = super().to_python(value)
        return text.replace("\r\n", "\n") if text else text


# The thank-you address of a token page: `?thanks=recorded` (or `updated`) after a stored answer.
THANKS_PARAM, THANKS_RECORDED, THANKS_UPDATED = "thanks", "recorded", "updated"


def thanks_redirect(request, thanks: str = THANKS_RECORDED):
    """303 to the page's thank-you GET (POST-redirect-GET): reloading it sends nothing again."""
    return HttpResponseRedirect(f"{request.path}?{THANKS_PARAM}={thanks}", status=303)


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


def public_budget_spent(request) -> bool:
    """Whether the client's budget is spent, counting nothing (for a request counted only when its
    token opens nothing: a one-click unsubscribe)."""
    return budget_spent(request, group=RATE_GROUP, key="ip", rate=_public_rate)


def rate_limited(request):
    """The 429 of a spent budget: come back after one period of SURVEY_PUBLIC_RATE (100/5m: five
    minutes), when the client's count is sure to start again, in seconds and on the page in words."""
    retry_after = rate_period_seconds(settings.SURVEY_PUBLIC_RATE)
    context = {"wait": wait_in_words(retry_after)}
    response = render(request, RATE_LIMITED_TEMPLATE, context, status=429)
    response["Retry-After"] = str(retry_after)
    return private(response)


def token_address(path: str) -> tuple[str, str] | None:
    """("s" or "why", the token) when `path` holds an emailed token, else None."""
    match = TOKEN_ADDRESS.match(path)
    return (match.group(1), match.group(2)) if match else None


def token_page_language(path: str) -> str | None:
    """The language the page at a token address speaks (the invitation's, the customer's), for
    the error pages rendered before its view runs (an expired form's CSRF failure); None when the
    path holds no token, or one that opens nothing."""
    found = token_address(path)
    if found is None:
        return None
    kind, token = found
    if kind == "s":
        from surveys.emails import invitation_language
        from surveys.responses import invitation_find

        invitation = invitation_find(token)
        return invitation_language(invitation) if invitation is not None else None
    from accounting.services import reason_request_find

    reason_request = reason_request_find(token)
    return reason_request.customer.language if reason_request is not None else None


class TokenAddressPrivacyMiddleware:
    """The private headers on every response at a token address, the ones no view renders too:
    a 405 before the view, a CSRF failure, a 400, a 500, a 404 of a mangled link. The outermost
    middleware, so that it sees what the others and Django's handlers answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if token_address(request.path):
            private(response)
        return response
