"""Staff logins made outside the admin: the first admin of a new installation, by command."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from cxplatform.roles import ADMIN, ROLES, sync_roles


@transaction.atomic
def staff_user_create(*, username: str, role: str, password: str, email: str = ""):
    """A new active login in one role group; admins get staff status (the Django admin).

    Raises ValidationError naming the field (username, email, password) and creates nothing then.
    """
    if role not in ROLES:
        raise ValidationError({"role": f"must be one of {', '.join(ROLES)}, not {role!r}."})
    user_model = get_user_model()
    user = user_model(username=username, email=email, is_active=True, is_staff=role == ADMIN)
    # full_clean checks the username's characters and length, its uniqueness and the email.
    user.full_clean(exclude=["password", "last_login", "date_joined"])
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    user.save()
    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        sync_roles()
    user.groups.set([Group.objects.get(name=role)])
    return user
