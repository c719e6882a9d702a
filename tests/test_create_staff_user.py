"""`manage.py create_staff_user`: the first login of a new installation, in its role group."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "tangerine-orbit-42"


def create(*args, password=GOOD_PASSWORD, monkeypatch):
    if password is not None:
        monkeypatch.setenv("CX_STAFF_PASSWORD", password)
    out = io.StringIO()
    call_command("create_staff_user", *args, stdout=out)
    return out.getvalue()


def test_the_first_admin_can_log_in_to_the_staff_pages_and_the_django_admin(monkeypatch):
    assert "Created 'boss' in the admin role." in create("boss", "--email", "boss@example.com", monkeypatch=monkeypatch)
    user = get_user_model().objects.get(username="boss")
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, True, False)
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    client = Client()
    assert client.login(username="boss", password=GOOD_PASSWORD)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get("/customers/").status_code == 200


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_other_roles_get_their_group_and_no_django_admin(monkeypatch, role):
    create("sam", "--role", role, monkeypatch=monkeypatch)
    user = get_user_model().objects.get(username="sam")
    assert not user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == [role]


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("boss",), "password", "password: This password is too common."),
        (("boss",), "short", "password: This password is too short."),
        (("bad name!",), GOOD_PASSWORD, "username: Enter a valid username."),
        (("boss", "--email", "not-an-address"), GOOD_PASSWORD, "email: Enter a valid email address."),
    ],
)
def test_bad_input_names_its_field_and_creates_nobody(monkeypatch, args, password, message):
    with pytest.raises(CommandError, match=message.split(":")[0]) as refused:
        create(*args, password=password, monkeypatch=monkeypatch)
    assert message in str(refused.value)
    assert not get_user_model().objects.exists()


def test_a_taken_username_is_refused_and_the_login_kept(monkeypatch):
    create("boss", monkeypatch=monkeypatch)
    with pytest.raises(CommandError, match="username: A user with that username already exists."):
        create("boss", "--role", "viewer", password="another-long-phrase-7", monkeypatch=monkeypatch)
    user = get_user_model().objects.get(username="boss")
    assert user.check_password(GOOD_PASSWORD) and user.groups.get().name == "admin"


def test_without_a_terminal_or_the_variable_it_says_how_to_give_the_password(monkeypatch):
    monkeypatch.delenv("CX_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="Set CX_STAFF_PASSWORD or run this command in a terminal"):
        create("boss", password=None, monkeypatch=monkeypatch)
