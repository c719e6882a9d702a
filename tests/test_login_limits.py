"""One login budget for three doors (and the signed-in password change), and the client's address
behind a reverse proxy.

The login page, the Django admin's login and the API's token login (HTTP Basic) count password
attempts against LOGIN_RATE in the same two budgets, per client address and per username: a guesser
refused at one door is refused at the others. Limits per address read the client's address where
RATELIMIT_IP_META_KEY says, so that behind a proxy every client does not share the proxy's budget.
"""

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.integration.smtp_sink import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the factory's
LIMIT = 5
PUBLIC_PAGE = "/s/" + "A" * 43 + "/"  # an unknown token: counted before it is looked up


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.LOGIN_RATE = f"{LIMIT}/m"
    settings.SURVEY_PUBLIC_RATE = "2/m"
    cache.clear()
    with time_machine.travel(time.time(), tick=False):  # no test straddles two counting windows
        yield
    cache.clear()


def page_login(username, password, **client):
    return Client(**client).post("/accounts/login/", {"username": username, "password": password})


def admin_login(username, password, **client):
    data = {"username": username, "password": password, "next": "/admin/"}
    return Client(**client).post("/admin/login/", data)


def api_login(username, password, **client):
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return APIClient(**client).post("/api/auth/login/", HTTP_AUTHORIZATION=f"Basic {credentials}")


DOORS = {"page": page_login, "admin": admin_login, "api": api_login}
LOGGED_IN = {"page": 302, "admin": 302, "api": 200}
WRONG = {"page": 200, "admin": 200, "api": 401}


# --- One budget for the three doors --------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_each_door_logs_in_with_the_right_password(door, admin):
    assert DOORS[door](admin.username, PASSWORD).status_code == LOGGED_IN[door]


@pytest.mark.parametrize("guessed_at", DOORS)
def test_after_the_limit_at_one_door_every_door_refuses_even_the_right_password(guessed_at, admin):
    for _ in range(LIMIT):
        assert DOORS[guessed_at](admin.username, "wrong").status_code == WRONG[guessed_at]

    for door, log_in in DOORS.items():
        assert log_in(admin.username, PASSWORD).status_code == 429, door


def test_the_username_budget_is_shared_across_doors_and_addresses(admin):
    for n in range(LIMIT):
        DOORS[("page", "admin", "api")[n % 3]](admin.username, "wrong", REMOTE_ADDR=f"10.0.0.{n}")

    assert admin_login(admin.username, PASSWORD, REMOTE_ADDR="10.0.0.99").status_code == 429
    assert api_login(admin.username, PASSWORD, REMOTE_ADDR="10.0.0.98").status_code == 429


def test_the_address_budget_is_shared_across_doors_and_usernames(admin):
    for n in range(LIMIT):
        DOORS[("api", "admin", "page")[n % 3]](f"someone{n}", "wrong")

    assert api_login(admin.username, PASSWORD).status_code == 429
    assert admin_login(admin.username, PASSWORD).status_code == 429
    assert api_login(admin.username, PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 200  # from elsewhere


def test_the_api_refuses_in_json_with_retry_after(admin):
    for _ in range(LIMIT):
        api_login(admin.username, "wrong")

    response = api_login(admin.username, PASSWORD)

    assert response.status_code == 429
    assert response.json() == {"detail": "Too many login attempts. Expected available in 60 seconds."}
    assert response["Retry-After"] == "60"


def test_the_admin_refuses_with_its_own_login_page(admin):
    for _ in range(LIMIT):
        admin_login(admin.username, "wrong")

    response = admin_login(admin.username, PASSWORD)

    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "Too many login attempts" in response.text
    assert 'id="login-form"' in response.text and 'name="next" value="/admin/"' in response.text
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize("door", ["page", "admin"])
def test_past_the_limit_a_page_does_not_tell_a_right_password_from_a_wrong_one(door, admin):
    for _ in range(LIMIT):
        DOORS[door](admin.username, "wrong")

    wrong, right = DOORS[door](admin.username, "still wrong"), DOORS[door](admin.username, PASSWORD)

    assert (wrong.status_code, right.status_code) == (429, 429)
    for response in (wrong, right):
        assert "Too many login attempts" in response.text
        assert "Please enter" not in response.text  # Django's "wrong username or password"


def test_a_variant_of_the_username_is_the_same_budget(admin):
    for n, variant in enumerate(["alice ", " alice", "ａｌｉｃｅ", "alice", "alice\t"]):
        page_login(variant, "wrong", REMOTE_ADDR=f"10.0.1.{n}")

    assert api_login(admin.username, PASSWORD, REMOTE_ADDR="10.0.2.1").status_code == 429


def test_a_browser_session_gets_a_token_without_counting_a_password(admin):
    client = APIClient(REMOTE_ADDR="10.0.3.1")
    client.force_login(admin)
    for _ in range(LIMIT + 1):
        assert client.post("/api/auth/login/").status_code == 200

    assert api_login(admin.username, PASSWORD, REMOTE_ADDR="10.0.3.1").status_code == 200


@pytest.mark.parametrize("door", DOORS)
def test_every_door_lets_staff_in_while_the_rate_limit_cache_is_down(door, admin, caplog):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    with override_settings(CACHES={"default": {"BACKEND": "cxplatform.cache.RedisCache", "LOCATION": dead}}):
        response = DOORS[door](admin.username, PASSWORD)

    assert response.status_code == LOGGED_IN[door]
    # One line: the username's budget is not asked of the cache that just failed.
    assert [r.getMessage().split(" and ")[0] for r in caplog.records if r.name == "cxplatform.ratelimits"] == [
        "Rate-limit cache unavailable: login:ip"
    ]


# --- The signed-in password change: its old-password check is a password guess too -----------------

PASSWORD_CHANGE = {"page": "/accounts/password/", "admin": "/admin/password_change/"}
CHANGED = {"page": "/accounts/password/done/", "admin": "/admin/password_change/done/"}


def change_password(user, door, old, new="a brand new passphrase 42", **client):
    browser = Client(**client)
    browser.force_login(user)
    data = {"old_password": old, "new_password1": new, "new_password2": new}
    return browser.post(PASSWORD_CHANGE[door], data)


@pytest.mark.parametrize("door", PASSWORD_CHANGE)
def test_the_password_change_works_under_the_limit(door, admin):
    response = change_password(admin, door, PASSWORD)

    assert (response.status_code, response["Location"]) == (302, CHANGED[door])
    admin.refresh_from_db()
    assert admin.check_password("a brand new passphrase 42")


@pytest.mark.parametrize("door", PASSWORD_CHANGE)
def test_a_stolen_session_cannot_guess_the_old_password(door, admin):
    for n in range(LIMIT):
        response = change_password(admin, door, f"guess {n}", REMOTE_ADDR=f"10.0.4.{n}")
        assert response.status_code == 400 and "old password was entered incorrectly" in response.text

    wrong = change_password(admin, door, "still wrong", REMOTE_ADDR="10.0.4.99")
    right = change_password(admin, door, PASSWORD, REMOTE_ADDR="10.0.4.98")

    for response in (wrong, right):
        assert response.status_code == 429 and response["Retry-After"] == "60"
        assert "Too many login attempts" in response.text
        assert "incorrectly" not in response.text  # a wrong old password is not told from a right one
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)


def test_guesses_at_the_password_change_use_up_the_login_budget(admin):
    for n in range(LIMIT):
        change_password(admin, ("page", "admin")[n % 2], "wrong")

    assert page_login(admin.username, PASSWORD, REMOTE_ADDR="10.0.5.1").status_code == 429


def test_the_admin_password_change_still_needs_a_staff_login(viewer):
    browser = Client()
    assert browser.get(PASSWORD_CHANGE["admin"])["Location"].startswith("/admin/login/")
    browser.force_login(viewer)
    assert browser.get(PASSWORD_CHANGE["admin"]).status_code in (302, 403)


# --- The client's address behind a reverse proxy ---------------------------------------------------


def public_page(**meta):
    return Client(**{"REMOTE_ADDR": "127.0.0.1", **meta}).get(PUBLIC_PAGE).status_code


def test_by_default_the_address_is_remote_addr_whatever_the_headers_say():
    assert [public_page(HTTP_X_REAL_IP=f"203.0.113.{n}") for n in range(3)] == [404, 404, 429]
    assert public_page(REMOTE_ADDR="192.0.2.1") == 404


@override_settings(RATELIMIT_IP_META_KEY="HTTP_X_REAL_IP")
def test_with_a_header_named_two_clients_behind_the_proxy_have_their_own_budgets(admin):
    assert [public_page(HTTP_X_REAL_IP="203.0.113.1") for _ in range(3)] == [404, 404, 429]
    assert public_page(HTTP_X_REAL_IP="203.0.113.2") == 404

    for n in range(LIMIT):
        page_login(f"someone{n}", "wrong", HTTP_X_REAL_IP="203.0.113.1")
    assert page_login(admin.username, PASSWORD, HTTP_X_REAL_IP="203.0.113.1").status_code == 429
    assert page_login(admin.username, PASSWORD, HTTP_X_REAL_IP="203.0.113.2").status_code == 302


FORWARDED_FOR = override_settings(
    RATELIMIT_IP_META_KEY="cxplatform.ratelimits.forwarded_for_ip", TRUSTED_PROXY_COUNT=1
)


@FORWARDED_FOR
def test_with_x_forwarded_for_two_clients_behind_the_proxy_have_their_own_budgets():
    assert [public_page(HTTP_X_FORWARDED_FOR="203.0.113.1") for _ in range(3)] == [404, 404, 429]
    assert public_page(HTTP_X_FORWARDED_FOR="203.0.113.2") == 404


@FORWARDED_FOR
def test_a_client_writing_its_own_x_forwarded_for_gets_no_fresh_budget():
    # The proxy appends the address it was connected from (nginx's $proxy_add_x_forwarded_for).
    spoofed = [public_page(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.66") for n in range(3)]

    assert spoofed == [404, 404, 429]
    assert public_page(HTTP_X_FORWARDED_FOR="203.0.113.67") == 404


@FORWARDED_FOR
def test_a_client_writing_its_own_x_forwarded_for_gets_no_fresh_login_budget(admin):
    for n in range(LIMIT):
        api_login(f"someone{n}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.66")

    spoofed = api_login(admin.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200, 203.0.113.66")
    elsewhere = api_login(admin.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.67")

    assert (spoofed.status_code, elsewhere.status_code) == (429, 200)


@override_settings(RATELIMIT_IP_META_KEY="cxplatform.ratelimits.forwarded_for_ip", TRUSTED_PROXY_COUNT=2)
def test_behind_two_proxies_the_client_is_the_second_address_from_the_right():
    # client → CDN (appends the client) → load balancer (appends the CDN) → gunicorn
    chains = [f"198.51.100.{n}, 203.0.113.66, 192.0.2.10" for n in range(3)]
    assert [public_page(HTTP_X_FORWARDED_FOR=chain) for chain in chains] == [404, 404, 429]
    assert public_page(HTTP_X_FORWARDED_FOR="203.0.113.67, 192.0.2.10") == 404


@FORWARDED_FOR
def test_without_x_forwarded_for_or_with_garbage_the_address_is_remote_addr():
    assert [public_page(), public_page(HTTP_X_FORWARDED_FOR="not-an-address"), public_page()] == [404, 404, 429]
    assert public_page(REMOTE_ADDR="192.0.2.1") == 404


# --- The settings, from the environment ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
PRINT_SETTINGS = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cxplatform.settings'; django.setup(); "
    "from django.conf import settings as s; print(s.RATELIMIT_IP_META_KEY, s.TRUSTED_PROXY_COUNT)"
)

PROXY_SETTINGS = ("RATELIMIT_IP_META_KEY", "TRUSTED_PROXY_COUNT")


def settings_with(**environ) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PROXY_SETTINGS}
    env.update(CX_TESTING="1", **environ)
    command = [sys.executable, "-c", PRINT_SETTINGS]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603


def test_the_environment_names_where_the_client_address_comes_from():
    assert settings_with().stdout.split()[-2:] == ["None", "1"]
    proxied = settings_with(RATELIMIT_IP_META_KEY="cxplatform.ratelimits.forwarded_for_ip", TRUSTED_PROXY_COUNT="2")
    assert proxied.stdout.split()[-2:] == ["cxplatform.ratelimits.forwarded_for_ip", "2"], proxied.stderr
    assert settings_with(RATELIMIT_IP_META_KEY="HTTP_X_REAL_IP").stdout.split()[-2:] == ["HTTP_X_REAL_IP", "1"]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RATELIMIT_IP_META_KEY": "HTTP_X_FORWARDED_FOR"}, "would trust addresses the client writes"),
        ({"RATELIMIT_IP_META_KEY": "X-Real-IP"}, "neither a request.META key"),
        ({"TRUSTED_PROXY_COUNT": "0"}, "TRUSTED_PROXY_COUNT counts the proxies"),
    ],
)
def test_a_setting_that_would_leave_the_limits_wrong_refuses_to_start(environ, message):
    result = settings_with(**environ)

    assert result.returncode != 0 and message in result.stderr
