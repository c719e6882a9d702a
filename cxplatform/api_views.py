from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import permissions, serializers, status
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .api_auth import TokenAuthentication
from .ratelimits import login_over_limit, login_retry_after
from .token_pages import link_not_found, token_address

TOKEN_RESPONSE = inline_serializer(
    "ApiToken",
    {"expiry": serializers.DateTimeField(allow_null=True), "token": serializers.CharField()},
)

CSRF_FAILED = OpenApiResponse(description="A session-authenticated request without its CSRF token.")
TOO_MANY_LOGINS = OpenApiResponse(
    inline_serializer("TooManyLogins", {"detail": serializers.CharField()}),
    description="Over LOGIN_RATE for this client address or username (one budget with the login pages); "
    "see Retry-After.",
)


def not_found(request, exception=None):
    """The 404 handler: under /api/ a JSON body like DRF's, as the schema documents; elsewhere the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    if token_address(request.path):  # a customer's link, mangled (`%3Fscore=9`): their own page
        return link_not_found(request)
    return page_not_found(request, exception)


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's, plus a JSON 413 for a body over the upload limit
    and a JSON 400 for a request of too many fields or files.

    Django raises RequestDataTooBig when DRF reads a body over DATA_UPLOAD_MAX_MEMORY_SIZE (a bulk
    import of a few hundred thousand lines); DRF let it through, and the client got Django's HTML
    "Bad Request (400)" page with no word of why, and the log an error with its traceback.
    """
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = (
            f"The request body is larger than the limit of {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE);"
            " nothing was written. Split the batch into smaller requests."
        )
        return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        # A form or query string over DATA_UPLOAD_MAX_NUMBER_FIELDS (or _FILES): the same HTML page.
        return Response({"detail": f"{exc} Nothing was written."}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


class RateLimitedBasicAuthentication(BasicAuthentication):
    """HTTP Basic whose password attempts count against LOGIN_RATE per IP address and per username,
    in the login page's budget (DRF's throttles would come too late: after authentication)."""

    def authenticate_credentials(self, userid, password, request=None):
        if login_over_limit(request, userid):
            raise Throttled(wait=login_retry_after(), detail="Too many login attempts.")
        # No user has a NUL in their credentials, and PostgreSQL cannot compare text holding one.
        if "\x00" in userid or "\x00" in password:
            raise AuthenticationFailed(_("Invalid username/password."))  # DRF's words
        return super().authenticate_credentials(userid, password, request)


class BasicAuthScheme(OpenApiAuthenticationExtension):
    """The login's HTTP Basic in the OpenAPI schema (drf-spectacular knows DRF's class, not ours)."""

    target_class = "cxplatform.api_views.RateLimitedBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "cxplatform.api_auth.TokenAuthentication"
    name = "knoxApiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Token-based authentication with required prefix \"Token\""}


class LoginView(KnoxLoginView):
    """POST with HTTP Basic credentials (or a session) to get an API token."""

    authentication_classes = [RateLimitedBasicAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: TOKEN_RESPONSE,
            401: OpenApiResponse(description="Wrong or missing credentials"),
            403: CSRF_FAILED,
            429: TOO_MANY_LOGINS,
        },
    )
    def post(self, request, format=None):  # noqa: A002 - knox's signature
        return super().post(request, format=format)


class LogoutView(KnoxLogoutView):
    """Revoke the token used for this request."""

    authentication_classes = [TokenAuthentication]

    @extend_schema(
        request=None,
        responses={204: None, 401: OpenApiResponse(description="Not authenticated"), 403: CSRF_FAILED},
    )
    def post(self, request, format=None):  # noqa: A002 - knox's signature
        return super().post(request, format=format)
