"""Role permissions for the REST API."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import permissions


class RolePermissions(permissions.DjangoModelPermissions):
    """Model permissions, with reads needing `view_<model>` too (DRF lets any user read).

    Views without a queryset name the one permission they need in `required_permission`.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        required = getattr(view, "required_permission", None)
        if required is not None:
            user = request.user or AnonymousUser()
            return bool(user.is_authenticated and user.has_perm(required))
        return super().has_permission(request, view)

