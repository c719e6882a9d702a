"""The 405 page and the 400 for a NUL in the query string. Django's `require_POST` and its kin
answer a bare `HttpResponseNotAllowed`, an empty page in the browser of whoever opened a form's
target (a launch link from the history, a bookmark). The 500 is Django's own, in the language of a
token's page at its address. The other error pages are templates that Django's own handlers render
(templates/400.html, 403.html, 403_csrf.html, 404.html).

At a token address (a customer's emailed link) the 400, the CSRF 403 and the 500 are the customer's
versions (templates/public/): their company's name, their page's language, and no link to the staff
home, which only asks them for a login."""

import logging
from contextlib import nullcontext

from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.views import defaults

from .token_pages import token_address, token_page_language

logger = logging.getLogger(__name__)

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
        page = self._page(request)
        page["Allow"] = response["Allow"]
        return page

    @staticmethod
    def _page(request):
        # A customer's link (another method than the page's) gets no staff wording, in the
        # language of its page, as its 400 and CSRF 403 are.
        if token_address(request.path):
            return _in_token_page_language(request, "405_public.html", status=405)
        return render(request, "405.html", status=405)


class NulInQueryStringMiddleware:
    """A 400 for a NUL byte (`%00`) anywhere in a page's query string. PostgreSQL refuses NUL in text,
    so a value that reached a query before any form saw it (a dashboard's choices, an admin list
    filter) was a 500; no parameter of this project can hold one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX) or not any(
            "\x00" in text for key, values in request.GET.lists() for text in (key, *values)
        ):
            return self.get_response(request)  # the API's filters answer their own 400, by field
        return _error_page(request, "400.html", status=400)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: templates/403_csrf.html, at a token address the customer's version in the
    language of its page (the invitation's, the customer's), as the form the customer sent was."""
    return _error_page(request, "403_csrf.html", status=403)


def bad_request(request, exception):
    """handler400 (a form over DATA_UPLOAD_MAX_NUMBER_FIELDS, a bad Host): Django's own 400, at a
    token address the customer's version in the language of its page."""
    if token_address(request.path) is None:
        with translation.override(settings.LANGUAGE_CODE):  # may run before StaffLanguageMiddleware
            return defaults.bad_request(request, exception)
    return _customer_page(request, "public/400.html", HttpResponseBadRequest)


def server_error(request):
    """handler500: Django's own 500 (templates/500.html, no context, no query), at a token address the
    customer's version in the language of the token's page. The views speak it only while they run,
    and the error left them: without this the customer read the browser's language."""
    if token_address(request.path) is None:
        with translation.override(settings.LANGUAGE_CODE):
            return defaults.server_error(request)
    return _customer_page(request, "public/500.html", HttpResponseServerError)


def _customer_page(request, template: str, response_class):
    """A customer's error page as Django renders its own: no request context, no context processor;
    the company's name (a setting) is all it needs. In the language of the token's page when it can
    be read: the error may be the database itself, and then the page must not fail a second time."""
    try:
        language = token_page_language(request.path)
    except Exception:
        logger.warning("Error page at a token address: its page's language not found", exc_info=True)
        language = None
    context = {"COMPANY_NAME": settings.COMPANY_NAME}
    return _in_language(language, lambda: response_class(loader.render_to_string(template, context)))


def _error_page(request, template: str, *, status: int):
    """`template`, or at a token address the customer's version (templates/public/) in the language
    of that token's page."""
    if token_address(request.path) is None:
        return render(request, template, status=status)
    return _in_token_page_language(request, f"public/{template}", status=status)


def _in_token_page_language(request, template: str, *, status: int):
    """At a token address, the page in the language of that token's page (the invitation's, the
    customer's), not the browser's: the customer sent or opened it there."""
    language = token_page_language(request.path)
    return _in_language(language, lambda: render(request, template, status=status))


def _in_language(language: str | None, page):
    """`page()` rendered in `language`, or in the active one when None."""
    with translation.override(language) if language else nullcontext():
        response = page()
    if language:
        response["Content-Language"] = language
    return response
