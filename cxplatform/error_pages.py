"""The 405 page: Django's `require_POST` and its kin answer a bare `HttpResponseNotAllowed`, an empty
page in the browser of whoever opened a form's target (a launch link from the history, a bookmark).
The other error pages are templates that Django's own handlers render (templates/400.html, 403.html,
403_csrf.html, 404.html, 500.html)."""

from django.http import HttpResponseNotAllowed
from django.shortcuts import render

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
        page = render(request, "405.html", status=405)
        page["Allow"] = response["Allow"]
        return page
