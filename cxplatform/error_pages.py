"""The 405 page: Django's `require_POST` and its kin answer a bare `HttpResponseNotAllowed`, an empty
page in the browser of whoever opened a form's target (a launch link from the history, a bookmark).
The other error pages are templates that Django's own handlers render (templates/400.html, 403.html,
403_csrf.html, 404.html, 500.html)."""

from contextlib import nullcontext

from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.utils import translation

from .token_pages import token_address, token_page_language

API_PREFIX = "/api/"  # DRF answers its own 405 in JSON, as the schema documents


class MethodNotAllowedPageMiddleware:
    """Renders templates/405.html in place of an empty 405, keeping its status and Allow header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        empty = isinstance(response, HttpResponseNotAllowed) and not response.content
        if not empty or request.path.startswith(API_PREFIX):
            return response
        # A customer's link (another method than the page's) gets no staff wording.
        template = "405_public.html" if token_address(request.path) else "405.html"
        page = render(request, template, status=405)
        page["Allow"] = response["Allow"]
        return page


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: templates/403_csrf.html, at a token address in the language of its page
    (the invitation's, the customer's), as the form the customer sent was."""
    language = token_page_language(request.path)
    with translation.override(language) if language else nullcontext():
        response = render(request, "403_csrf.html", status=403)
    if language:
        response["Content-Language"] = language
    return response
