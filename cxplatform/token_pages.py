"""What every public page whose address holds an emailed token shares (survey answers, unsubscribe,
acquisition reasons): headers that keep the token private, and one "link not found" page."""

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

LINK_NOT_FOUND_TEMPLATE = "public/link_not_found.html"


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
