"""Authentication classes of the REST API (REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]).

Apart from the views: DRF imports these while it builds its views, which a module importing views
would import in turn.
"""

from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's, with a header that is not UTF-8 (a token pasted from a Latin-1 document) refused as
    an invalid token (401) instead of a 500 on every endpoint."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None


def revoke_tokens_on_password_change(sender, instance, raw=False, **kwargs) -> None:
    """pre_save of the user model: a new password revokes the user's API tokens too, as Django ends
    their other sessions. Someone who fears a token leaked changes the password, and an admin who
    resets a password locks out whoever held the old one, on the API as in the pages."""
    # A password set anew, not the same one re-hashed: `set_password` keeps the raw password until
    # the save, while a login that upgrades the hash (a new hasher, more iterations) clears it first.
    if raw or instance.pk is None or getattr(instance, "_password", None) is None:
        return
    from knox.models import AuthToken

    AuthToken.objects.filter(user_id=instance.pk).delete()
