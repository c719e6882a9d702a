"""Login: rate limited per IP address and per username; CSRF-protected."""

import time

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, override_settings

from tests.factories import UserFactory
from tests.integration.smtp_sink import free_port

pytestmark = pytest.mark.django_db
URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.LOGIN_RATE = "5/m"
    cache.clear()
    with time_machine.travel(time.time(), tick=False):  # no test straddles two counting windows
        yield
    cache.clear()


def test_it_logs_in_with_the_right_password(client):
    user = UserFactory()
    response = client.post(URL, {"username": user.username, "password": "correct horse battery staple"})
    assert response.status_code == 302


def test_guessing_is_refused_after_the_limit_even_with_the_right_password(client):
    user = UserFactory()
    for _ in range(5):
        assert client.post(URL, {"username": user.username, "password": "wrong"}).status_code == 200
    response = client.post(URL, {"username": user.username, "password": "correct horse battery staple"})
    assert response.status_code == 429 and "Too many login attempts" in response.content.decode()
    assert response["Retry-After"] == "60"


def test_the_limit_follows_the_username_across_addresses():
    user = UserFactory()
    for n in range(5):
        Client(REMOTE_ADDR=f"10.0.0.{n}").post(URL, {"username": user.username, "password": "wrong"})
    response = Client(REMOTE_ADDR="10.0.0.99").post(URL, {"username": user.username, "password": "x"})
    assert response.status_code == 429


def test_the_form_needs_its_csrf_token():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    response = client.post(URL, {"username": user.username, "password": "correct horse battery staple"})
    assert response.status_code == 403


def test_staff_can_log_in_while_the_rate_limit_cache_is_down(client, caplog):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    user = UserFactory()

    with override_settings(CACHES={"default": {"BACKEND": "cxplatform.cache.RedisCache", "LOCATION": dead}}):
        response = client.post(URL, {"username": user.username, "password": "correct horse battery staple"})

    assert response.status_code == 302
    assert "Rate-limit cache unavailable: login:ip" in caplog.text
