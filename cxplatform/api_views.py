from knox.views import LoginView as KnoxLoginView
from rest_framework import permissions
from rest_framework.authentication import BasicAuthentication, SessionAuthentication


class LoginView(KnoxLoginView):
    """POST username and password (HTTP Basic or a session) to get an API token."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
