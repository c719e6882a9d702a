"""Staff pages speak English whatever the browser asks; customers' token pages keep translating.

No staff template is translated: a page declared in the browser's language (`<html lang="de">`,
`Content-Language: de`) over English text is read aloud with German pronunciation (WCAG 3.1.1),
and Django's own form errors in German made a mixed page. cxplatform/staff_language.py.
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTML_LANG = re.compile(r"<html[^>]*?\blang=\"([^\"]*)\"", re.IGNORECASE)


def html_lang(text: str) -> str | None:
    found = HTML_LANG.search(text)
    return found.group(1) if found else None


def _browser(language: str, role: str | None = "analyst") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if role:
        client.force_login(UserFactory(role=role))
    return client


@pytest.mark.parametrize("language", ["de", "fr"])
@pytest.mark.parametrize(
    ("path", "english_heading"),
    [
        ("/", "<h1>Welcome, "),
        ("/customers/", "<h1>Customers</h1>"),
        ("/surveys/", "<h1>Surveys</h1>"),
        ("/reports/referrals/", "<h1>Referrals</h1>"),
        ("/no-such-page/", "<h1>Page not found</h1>"),
    ],
)
def test_a_staff_page_is_declared_english_whatever_the_browser_prefers(path, english_heading, language):
    response = _browser(language).get(path)

    assert english_heading in response.text
    assert html_lang(response.text) == "en"
    assert response["Content-Language"] == "en"
    assert "Accept-Language" not in response.get("Vary", "")  # the same page for every browser


@pytest.mark.parametrize("language", ["de", "fr"])
def test_the_login_page_is_declared_english_whatever_the_browser_prefers(language):
    response = _browser(language, role=None).get("/accounts/login/")

    assert "<h1>Log in</h1>" in response.text
    assert html_lang(response.text) == "en"


def test_djangos_own_form_errors_on_a_staff_page_are_english():
    response = _browser("de", role="admin").post(reverse("surveys:survey-create"), {})

    assert response.status_code == 400  # the form, again, with its errors
    assert "This field is required." in response.text
    assert "Dieses Feld ist zwingend erforderlich." not in response.text


def test_the_admin_is_english_whatever_the_browser_prefers():
    response = _browser("de", role=None).get("/admin/login/")

    assert html_lang(response.text) == "en"
    assert "Anmelden" not in response.text


def test_the_apis_error_messages_are_english_whatever_the_browser_prefers():
    response = Client(HTTP_ACCEPT_LANGUAGE="de").get("/api/customers/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["Content-Language"] == "en"


@pytest.mark.usefixtures("fresh_rate_limits")
def test_an_unknown_customer_link_still_speaks_the_browsers_language():
    """No invitation to take the language from: the browser's is the best guess for a customer."""
    response = Client(HTTP_ACCEPT_LANGUAGE="de").get("/s/no-such-token/")

    assert response.status_code == 404
    assert "<h1>Link nicht gefunden</h1>" in response.text
    assert html_lang(response.text) == "de"
    assert response["Content-Language"] == "de"



@pytest.fixture
def language_restored():
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.mark.usefixtures("fresh_rate_limits", "language_restored")
def test_a_staff_400_after_a_customers_french_page_on_the_same_thread_is_english(settings):
    # Django never resets a thread's language; a bad Host fails before the language middleware runs
    # (SecurityMiddleware's HTTPS redirect reads the host), so the 400 spoke the previous request's.
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True  # the production default
    Client(HTTP_ACCEPT_LANGUAGE="fr").get("/s/not-a-token/", secure=True)

    response = Client(HTTP_HOST="other.example", raise_request_exception=False).get("/customers/")

    assert response.status_code == 400
    page = response.content.decode()
    assert html_lang(page) == "en"
    assert "Bad request" in page and "Requête invalide" not in page


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits", "language_restored")
def test_a_customers_token_page_leaves_the_thread_in_the_staff_language():
    """Django never resets a thread's language: after a customer's French page, whatever the
    thread renders next before the middleware runs (a bad Host's error page) must be English."""
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/s/not-a-token/")

    assert response["Content-Language"] == "fr"
    assert translation.get_language() == settings.LANGUAGE_CODE
