from django.http import JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import permissions, serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication

TOKEN_RESPONSE = inline_serializer(
    "ApiToken",
    {"expiry": serializers.DateTimeField(allow_null=True), "token": serializers.CharField()},
)

CSRF_FAILED = OpenApiResponse(description="A session-authenticated request without its CSRF token.")


def not_found(request, exception=None):
    """The 404 handler: under /api/ a JSON body like DRF's, as the schema documents; elsewhere the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


class LoginView(KnoxLoginView):
    """POST with HTTP Basic credentials (or a session) to get an API token."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: TOKEN_RESPONSE,
            401: OpenApiResponse(description="Wrong or missing credentials"),
            403: CSRF_FAILED,
        },
        auth=[{"basicAuth": []}],
    )
    def post(self, request, format=None):  # noqa: A002 - knox's signature
        return super().post(request, format=format)


class LogoutView(KnoxLogoutView):
    """Revoke the token used for this request."""

    @extend_schema(
        request=None,
        responses={204: None, 401: OpenApiResponse(description="Not authenticated"), 403: CSRF_FAILED},
    )
    def post(self, request, format=None):  # noqa: A002 - knox's signature
        return super().post(request, format=format)
