"""Authentication classes of the REST API (REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]).

Apart from the views: DRF imports these while it builds its views, which a module importing views
would import in turn.
"""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from rest_framework.exceptions import AuthenticationFailed

TOKEN_EXPIRED = _("Token expired; log in again (POST /api/auth/login/).")


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's, with two answers of its own:

    - a header that is not UTF-8 (a token pasted from a Latin-1 document) is refused as an invalid
      token (401) instead of a 500 on every endpoint;
    - an expired token is told so, where knox says "Invalid token." as to a mistyped one, and an
      integration could not tell that it only needs to log in again.
    """

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None

    def authenticate_credentials(self, token: bytes):
        # Per request (DRF makes an authenticator for each): what `_cleanup_token` finds out.
        self._presented, self._presented_expired = token.decode("utf-8"), False
        try:
            return super().authenticate_credentials(token)
        except AuthenticationFailed:
            if self._presented_expired:
                raise AuthenticationFailed(TOKEN_EXPIRED) from None
            raise

    def _cleanup_token(self, auth_token) -> bool:
        """knox's hook for each stored token sharing the presented one's key: an expired one is
        deleted there, before knox compares it, so it is compared here first (as knox compares:
        by digest, in constant time). No query of its own: the rows are knox's."""
        if _expired(auth_token) and _is_token(self._presented, auth_token.digest):
            self._presented_expired = True
        return super()._cleanup_token(auth_token)


def _expired(auth_token) -> bool:
    return auth_token.expiry is not None and auth_token.expiry < timezone.now()


def _is_token(token: str, digest: str) -> bool:
    try:
        return compare_digest(hash_token(token), digest)
    except (TypeError, binascii.Error):
        return False


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
