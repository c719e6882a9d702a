"""A server error (500) at a customer's token address, in the language of the token's page.

The answer and reason pages speak the invitation's (the customer's) language only while their view
runs; the 500 is rendered after the error has left it. Like the 400, the CSRF 403 and the 405 at a
token address, it speaks the language of the page the customer opened, not the browser's.
"""

import pytest
from django.db import OperationalError
from django.test import Client

from accounting.services import reason_request_create
from tests.factories import CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

HEADINGS = {
    "en": "Something went wrong on our side",
    "fr": "Un problème est survenu de notre côté",
    "de": "Bei uns ist etwas schiefgelaufen",
}


def _fails(*args, **kwargs):
    raise RuntimeError("simulated failure")


def _database_down(*args, **kwargs):
    raise OperationalError("could not connect to server")


@pytest.fixture
def english_browser():
    return Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("language", ["fr", "de"])
def test_a_500_on_the_answer_page_speaks_the_invitations_language(monkeypatch, english_browser, language):
    import surveys.public_views

    invitation = InvitationFactory(customer=CustomerFactory(language=language))
    monkeypatch.setattr(surveys.public_views, "invitation_state", _fails)

    response = english_browser.get(f"/s/{invitation.token}/?score=9")

    assert response.status_code == 500
    assert f'<html lang="{language}">' in response.text
    assert HEADINGS[language] in response.text
    assert response["Content-Language"] == language
    assert "no-store" in response["Cache-Control"] and "simulated" not in response.text


def test_a_500_on_the_reason_page_speaks_the_customers_language(monkeypatch, english_browser):
    import accounting.public_views

    token = reason_request_create(customer=CustomerFactory(language="de")).token
    monkeypatch.setattr(accounting.public_views, "reason_request_state", _fails)

    response = english_browser.get(f"/why/{token}/")

    assert response.status_code == 500
    assert '<html lang="de">' in response.text
    assert HEADINGS["de"] in response.text


def test_with_the_database_down_a_token_page_still_gets_the_plain_500(monkeypatch, english_browser):
    """The language lookup fails as the view did: the page in the browser's language, no second error."""
    import surveys.public_views
    import surveys.responses

    invitation = InvitationFactory(customer=CustomerFactory(language="fr"))
    monkeypatch.setattr(surveys.public_views, "invitation_find", _database_down)
    monkeypatch.setattr(surveys.responses, "invitation_find", _database_down)

    response = english_browser.get(f"/s/{invitation.token}/")

    assert response.status_code == 500
    assert '<html lang="en">' in response.text
    assert HEADINGS["en"] in response.text
    assert "no-store" in response["Cache-Control"]


def test_a_500_on_a_staff_page_is_the_plain_page(admin, monkeypatch):
    import surveys.views

    monkeypatch.setattr(surveys.views.selectors, "survey_list", _fails)
    client = Client(raise_request_exception=False)
    client.force_login(admin)

    response = client.get("/surveys/")

    assert response.status_code == 500
    assert '<html lang="en">' in response.text
    assert HEADINGS["en"] in response.text
