"""The edit deadline on the answer page and the thank-you page: in TIME_ZONE, with the zone named
(a customer may live in another), and the English sentence ends in one full stop after "a.m."."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests.factories import CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

ANSWERED_AT = dt.datetime(2026, 11, 30, 10, 57, tzinfo=dt.UTC)  # the deadline, 72 hours on: Dec. 3


@pytest.fixture(autouse=True)
def window(settings):
    settings.SURVEY_EDIT_WINDOW_HOURS = 72
    settings.TIME_ZONE = "Europe/Paris"


def answered(client, language):
    """An invitation answered at ANSWERED_AT; the thank-you page the customer was shown, and the
    answer page when they open the link again."""
    invitation = InvitationFactory(customer=CustomerFactory(language=language))
    url = reverse("survey-answer", args=[invitation.token])
    with time_machine.travel(ANSWERED_AT, tick=False):
        thanks = client.post(url, {"score": 9}, follow=True)
        again = client.get(url)
    return thanks.text, again.text


@pytest.mark.parametrize(
    ("language", "on_answer_page", "on_thanks_page"),
    [
        ("en", "You can change it here until Dec. 3, 2026, 11:57 a.m. CET.</p>",
         "Change my answer (possible until Dec. 3, 2026, 11:57 a.m. CET)"),
        ("fr", "Vous pouvez la modifier ici jusqu’au 3 décembre 2026 11:57 CET.</p>",
         "Modifier ma réponse (possible jusqu’au 3 décembre 2026 11:57 CET)"),
        ("de", "Sie können sie hier bis 3. Dezember 2026 11:57 CET ändern.</p>",
         "Meine Antwort ändern (möglich bis 3. Dezember 2026 11:57 CET)"),
    ],
)
def test_the_deadline_names_its_zone(client, language, on_answer_page, on_thanks_page):
    thanks, again = answered(client, language)

    assert on_thanks_page in thanks
    assert on_answer_page in again


def test_an_english_deadline_ends_in_one_full_stop(client):
    thanks, again = answered(client, "en")

    assert "a.m.." not in again and "a.m. CET." in again


def test_a_zone_without_an_abbreviation_is_named_by_its_offset(client, settings):
    settings.TIME_ZONE = "Asia/Dubai"  # tzdata calls it "+04"

    thanks, again = answered(client, "en")

    assert "until Dec. 3, 2026, 2:57 p.m. UTC+04:00." in again
    assert "(possible until Dec. 3, 2026, 2:57 p.m. UTC+04:00)" in thanks


def test_in_utc_the_zone_is_utc(client, settings):
    settings.TIME_ZONE = "UTC"

    thanks, again = answered(client, "en")

    assert "until Dec. 3, 2026, 10:57 a.m. UTC." in again
