"""API tokens: knox login with HTTP Basic, then the token on every request; logout revokes it."""

import base64

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # the factory's password


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def login(username, password=PASSWORD):
    return APIClient().post(reverse("api-login"), HTTP_AUTHORIZATION=basic(username, password))


def with_token(token):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def test_an_analyst_logs_in_with_http_basic_and_reads_customers_with_the_token():
    UserFactory(username="bob", role="analyst")

    response = login("bob")

    assert response.status_code == 200
    body = response.json()
    assert body["token"] and body["expiry"]
    assert with_token(body["token"]).get(reverse("api-customer-list")).status_code == 200


def test_a_token_carries_its_users_role():
    UserFactory(username="charlie", role="viewer")
    token = login("charlie").json()["token"]

    assert with_token(token).get(reverse("api-customer-list")).status_code == 403


def test_a_wrong_password_gets_no_token():
    UserFactory(username="bob", role="analyst")

    response = login("bob", "wrong")

    assert response.status_code == 401
    assert "token" not in response.json()


@pytest.mark.parametrize(("username", "password"), [("b\x00ob", PASSWORD), ("bob", PASSWORD + "\x00")])
def test_a_nul_in_the_basic_credentials_is_a_401_not_a_500(username, password):
    # PostgreSQL cannot compare text holding a NUL: the user lookup failed with a DataError.
    UserFactory(username="bob", role="analyst")

    response = login(username, password)

    assert response.status_code == 401
    assert "token" not in response.json()


def test_a_made_up_token_is_refused():
    assert with_token("f" * 64).get(reverse("api-customer-list")).status_code == 401


def test_a_token_stops_working_after_logout():
    UserFactory(username="bob", role="analyst")
    api = with_token(login("bob").json()["token"])

    assert api.post(reverse("api-logout")).status_code == 204
    assert api.get(reverse("api-customer-list")).status_code == 401


def test_a_signed_in_web_session_can_read_the_api(analyst):
    api = APIClient()
    api.force_login(analyst)

    assert api.get(reverse("api-customer-list")).status_code == 200
