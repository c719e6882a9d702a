"""Models, management commands and the demo: behaviour a mutation audit found no test pinning."""

import datetime as dt
import io
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from accounting.demo import demo_users_reset
from accounting.models import ReasonRequest
from surveys.models import Invitation, InvitationState, new_token_salt, token_from_salt

UTC = dt.UTC
GOOD_PASSWORD = "tangerine-orbit-42"


# --- models -------------------------------------------------------------------------------------


def test_an_invitation_salt_holds_at_least_128_random_bits():
    """The link token is derived from the salt: a short salt makes tokens guessable and makes two
    invitations of a large launch collide on the unique token hash."""
    salts = {new_token_salt() for _ in range(50)}

    assert len(salts) == 50
    assert all(len(bytes.fromhex(salt)) * 8 >= 128 for salt in salts)
    assert len(token_from_salt(salts.pop())) >= 43  # HMAC-SHA256, 256 bits in URL-safe base64


def test_an_invitation_is_expired_from_the_very_moment_it_expires():
    """expires_at is the first moment the link no longer works, as for a reason request."""
    expires = dt.datetime(2028, 3, 1, 9, tzinfo=UTC)
    invitation = Invitation(state=InvitationState.SENT, expires_at=expires)

    with time_machine.travel(expires - dt.timedelta(microseconds=1), tick=False):
        assert not invitation.is_expired
    with time_machine.travel(expires, tick=False):
        assert invitation.is_expired


def test_a_reason_links_last_day_is_the_companys_day_not_utcs(settings):
    """The email names the last day the link works in the company's time zone: a link expiring
    at midnight in New York (05:00 UTC) works until the day before there, not the UTC day."""
    settings.TIME_ZONE = "America/New_York"
    expires = dt.datetime(2028, 1, 31, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)  # as stored

    assert ReasonRequest(expires_at=expires).last_day == dt.date(2028, 1, 30)


@pytest.mark.django_db
def test_the_models_and_their_migrations_agree():
    """The database's constraints come from the migrations, the forms' and admin's validation from
    the models: a rule changed in one and not the other (a survey's reminder before its expiry,
    a response's category by score) would be refused by one door and let through by another."""
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


# --- create_staff_user --------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.django_db
def test_create_staff_user_refuses_two_different_passwords_typed(monkeypatch):
    """Typed at a terminal, the password is asked twice: a typo would lock the first admin out."""
    monkeypatch.delenv("CX_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", _Terminal())
    typed = iter([GOOD_PASSWORD, GOOD_PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))

    with pytest.raises(CommandError, match="The two passwords differ."):
        call_command("create_staff_user", "boss", stdout=StringIO())
    assert not get_user_model().objects.exists()

    typed = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    call_command("create_staff_user", "boss", stdout=StringIO())
    assert get_user_model().objects.get(username="boss").check_password(GOOD_PASSWORD)


@pytest.mark.django_db
def test_create_staff_user_puts_the_login_in_its_role_even_after_the_group_was_deleted(monkeypatch):
    """A role group deleted in the admin is made again (with its permissions), not a crash."""
    Group.objects.filter(name="viewer").delete()
    monkeypatch.setenv("CX_STAFF_PASSWORD", GOOD_PASSWORD)

    call_command("create_staff_user", "sam", "--role", "viewer", stdout=StringIO())

    user = get_user_model().objects.get(username="sam")
    assert list(user.groups.values_list("name", flat=True)) == ["viewer"]
    assert Group.objects.get(name="viewer").permissions.exists()


# --- the demo -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_refuses_zero_customers():
    with pytest.raises(CommandError, match="--customers must be at least 1"):
        call_command("demo", "--customers", "0", "--no-users", stdout=StringIO())


@pytest.mark.django_db
def test_a_demo_rerun_makes_a_deactivated_demo_login_work_again(settings):
    """The logins the demo prints must work: a demo login deactivated since is active again."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_users_reset(password="demo-password-1")
    get_user_model().objects.filter(username="analyst").update(is_active=False)

    demo_users_reset(password="demo-password-2")

    assert Client().login(username="analyst", password="demo-password-2")
