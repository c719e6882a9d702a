from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import permissions, serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication

TOKEN_RESPONSE = inline_serializer(
    "ApiToken",
    {"expiry": serializers.DateTimeField(allow_null=True), "token": serializers.CharField()},
)


class LoginView(KnoxLoginView):
    """POST with HTTP Basic credentials (or a session) to get an API token."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: TOKEN_RESPONSE, 401: OpenApiResponse(description="Wrong or missing credentials")},
        auth=[{"basicAuth": []}],
    )
    def post(self, request, format=None):  # noqa: A002 - knox's signature
        return super().post(request, format=format)


class LogoutView(KnoxLogoutView):
    """Revoke the token used for this request."""

    @extend_schema(request=None, responses={204: None, 401: OpenApiResponse(description="Not authenticated")})
    def post(self, request, format=None):  # noqa: A002 - knox's signature
        return super().post(request, format=format)
