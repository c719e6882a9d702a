"""The language a page is shown in. Staff pages (and the admin, the API, the login page, a staff
404) are written in English only: they are shown in settings.LANGUAGE_CODE whatever the browser's
Accept-Language asks, so that <html lang>, Content-Language, Django's own form errors and number
formats agree with the text. Only the customers' pages at a token address translate, as before:
the browser's language until the token is known, then the invitation's or the customer's (their
views and error pages override it)."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from .token_pages import token_address


class StaffLanguageMiddleware(LocaleMiddleware):
    """LocaleMiddleware at a token address (the answer, unsubscribe and reason pages and their error
    pages); LANGUAGE_CODE everywhere else, with no `Vary: Accept-Language`, since nothing varies."""

    def process_request(self, request):
        if token_address(request.path):
            return super().process_request(request)
        # Always activated: a thread keeps the language a previous request left active.
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request, response):
        if token_address(request.path):
            response = super().process_response(request, response)
            # Django never resets a thread's language: an error page of the thread's next request
            # rendered before process_request runs (a bad Host) would speak this customer's.
            translation.activate(settings.LANGUAGE_CODE)
            return response
        response.headers.setdefault("Content-Language", settings.LANGUAGE_CODE)
        return response
