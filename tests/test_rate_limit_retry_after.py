"""A refused client is told how long to wait: one period of the rate it was counted against
(SURVEY_PUBLIC_RATE for the customers' token pages, LOGIN_RATE for the staff logins), in Retry-After
and in words on the page. django-ratelimit counts in fixed windows of that period, so one period is
always enough. Both said 60 seconds, "wait a minute", whatever the period: a customer who did as told
under an hourly or daily rate was refused again."""

import base64
import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from cxplatform.ratelimits import rate_period_seconds, wait_in_words
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db]

START = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)
UNKNOWN_TOKEN_PAGE = "/s/" + "a" * 43 + "/"  # counted before the token is looked up


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _refused_public_page(client, rate: str):
    for _ in range(int(rate.split("/")[0])):
        assert client.get(UNKNOWN_TOKEN_PAGE).status_code == 404
    refused = client.get(UNKNOWN_TOKEN_PAGE)
    assert refused.status_code == 429
    return refused


@pytest.mark.parametrize("rate", ["3/m", "3/5m", "3/h", "3/d"])
def test_it_lets_in_a_customer_who_waited_as_long_as_retry_after_said(settings, rate):
    settings.SURVEY_PUBLIC_RATE = rate
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with time_machine.travel(START, tick=False) as traveller:
        retry_after = int(_refused_public_page(client, rate)["Retry-After"])

        traveller.shift(dt.timedelta(seconds=retry_after))  # the customer did as told
        again = client.get(UNKNOWN_TOKEN_PAGE)

    assert retry_after == rate_period_seconds(rate)
    assert again.status_code == 404, f"Retry-After said {retry_after}s, yet {rate} still refused"


@pytest.mark.parametrize(
    ("rate", "language", "retry_after", "words"),
    [
        ("3/m", "en", "60", "Please wait 1 minute and try again."),
        ("3/5m", "en", "300", "Please wait 5 minutes and try again."),
        ("3/h", "fr", "3600", "Veuillez patienter 1 heure, puis réessayer."),
        ("3/d", "de", "86400", "Bitte warten Sie 1 Tag und versuchen Sie es erneut."),
    ],
)
def test_the_429_page_says_the_wait_of_the_configured_rate(settings, rate, language, retry_after, words):
    settings.SURVEY_PUBLIC_RATE = rate
    with time_machine.travel(START, tick=False):
        refused = _refused_public_page(Client(HTTP_ACCEPT_LANGUAGE=language), rate)

    assert refused["Retry-After"] == retry_after
    assert words in refused.text


@pytest.mark.parametrize(
    ("rate", "seconds"),
    [("10/m", 60), ("100/5m", 300), ("1000/h", 3600), ("10/d", 86400), ("5/90s", 90), ("1/2d", 172800)],
)
def test_it_reads_the_period_of_a_rate_in_seconds(rate, seconds):
    assert rate_period_seconds(rate) == seconds


@pytest.mark.parametrize(
    ("seconds", "english", "french"),
    [
        (60, "1 minute", "1 minute"),
        (300, "5 minutes", "5 minutes"),
        (5400, "90 minutes", "90 minutes"),
        (3600, "1 hour", "1 heure"),
        (172800, "2 days", "2 jours"),
        (90, "90 seconds", "90 secondes"),
    ],
)
def test_it_says_a_wait_in_the_largest_unit_that_says_it_exactly(seconds, english, french):
    with translation.override("en"):
        assert wait_in_words(seconds) == english
    with translation.override("fr"):
        assert wait_in_words(seconds) == french


def test_the_staff_login_tells_a_guesser_to_wait_one_period_of_login_rate(settings):
    settings.LOGIN_RATE = "2/h"
    user = UserFactory()
    client = Client()
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
        refused = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})

    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many login attempts. Wait 1 hour and try again." in refused.text


def test_the_apis_login_says_the_same_wait(settings):
    settings.LOGIN_RATE = "2/5m"
    user = UserFactory()
    credentials = base64.b64encode(f"{user.username}:wrong".encode()).decode()
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            refused = APIClient().post("/api/auth/login/", HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    assert refused.json() == {"detail": "Too many login attempts. Expected available in 300 seconds."}
