"""Regressions of the public customer pages (SPEC §4, §2, §7) as a customer meets them: the 405 at
a token address, the answer's POST-redirect-GET, line breaks against maxlength, an empty token."""

from unittest import mock

import pytest
from django.test import Client

from accounting.models import ReasonCategory
from accounting.services import reason_request_create
from surveys import responses as svc
from surveys.models import Response
from tests.factories import CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def alerts():
    with mock.patch("surveys.alerts.send_detractor_alert.delay") as delay:
        yield delay


def _answer_url(language="en"):
    return f"/s/{InvitationFactory(customer=CustomerFactory(language=language)).token}/"


def _why_url(language="en"):
    return f"/why/{reason_request_create(customer=CustomerFactory(language=language)).token}/"


def _assert_private(response):
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]


# --- 1. The 405 at a token address speaks the customer's language, not the browser's -------------
# MethodNotAllowedPageMiddleware rendered 405_public.html with a plain render(), in the browser's
# language, unlike the 400 and the CSRF 403 at the same addresses.


@pytest.mark.parametrize("kind", ["answer", "unsubscribe", "why"])
def test_a_405_at_a_german_customers_link_is_german_whatever_the_browser_says(kind):
    url = {"answer": lambda: _answer_url("de"), "unsubscribe": lambda: _answer_url("de") + "unsubscribe/",
           "why": lambda: _why_url("de")}[kind]()

    response = Client(HTTP_ACCEPT_LANGUAGE="en").put(url)

    assert response.status_code == 405
    assert '<html lang="de">' in response.text
    assert "Dieser Link lässt sich so nicht öffnen" in response.text
    assert response["Content-Language"] == "de"
    assert response["Allow"] == "GET, HEAD, POST"
    _assert_private(response)


# --- 2. POST-redirect-GET: a refresh of the thank-you page never resends the answer ------------
# survey_answer rendered the thank-you page as the POST's own 200: a refresh resent the form, and
# _response_update saved again, a new history version of an answer that had not changed.


def test_a_stored_answer_redirects_to_a_page_a_refresh_cannot_resubmit():
    url = _answer_url()

    response = Client().post(url, {"score": 8, "reason": "fast", "suggestion": ""})

    assert Response.objects.count() == 1
    assert response.status_code == 303
    assert response["Location"] == url + "?thanks=recorded"
    _assert_private(response)


def test_the_thank_you_page_is_a_get_in_the_customers_language_that_writes_nothing():
    url = _answer_url("de")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(url, {"score": 9, "reason": "schnell"})
    stored = Response.objects.get()

    pages = [client.get(url + "?thanks=recorded") for _ in range(2)]  # the page and its refresh

    for page in pages:
        assert page.status_code == 200
        assert "Vielen Dank" in page.text and "Ihre Antwort wurde gespeichert" in page.text
        assert "schnell" in page.text
        assert page["Content-Language"] == "de"
        _assert_private(page)
    assert stored.history.count() == 1
    assert Response.objects.get().updated_at == stored.updated_at


def test_the_thank_you_address_of_a_link_not_yet_answered_shows_the_question_not_a_thanks():
    url = _answer_url()

    page = Client().get(url + "?thanks=recorded")

    assert page.status_code == 200
    assert "Thank you" not in page.text and "Send my answer" in page.text
    assert not Response.objects.exists()


def test_sending_the_same_answer_again_adds_no_version_to_its_history():
    url = _answer_url()
    client = Client()
    client.post(url, {"score": 8, "reason": "fast", "suggestion": "cheaper"})
    stored = Response.objects.get()
    versions = stored.history.count()

    resent = client.post(url, {"score": 8, "reason": "fast", "suggestion": "cheaper"})  # the browser's resend

    assert stored.history.count() == versions
    assert Response.objects.get().updated_at == stored.updated_at
    assert resent["Location"] == url + "?thanks=recorded"  # nothing was updated


def test_an_unchanged_detractors_answer_sent_again_raises_no_second_alert(
    alerts, django_capture_on_commit_callbacks
):
    invitation = InvitationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = svc.response_submit(invitation=invitation, score=2, reason="slow")
        again = svc.response_submit(invitation=invitation, score=2, reason="slow")

    assert (first.outcome, again.outcome) == (svc.AnswerOutcome.CREATED, svc.AnswerOutcome.UNCHANGED)
    assert again.response.pk == first.response.pk
    assert alerts.call_count == 1


def test_an_edit_is_thanked_as_an_update_in_the_customers_language():
    url = _answer_url("fr")
    client = Client()
    client.post(url, {"score": 8, "reason": "rapide"})

    edit = client.post(url, {"score": 6, "reason": "plus lent"}, follow=True)

    assert edit.redirect_chain == [(url + "?thanks=updated", 303)]
    assert "Votre réponse a été mise à jour" in edit.text and "plus lent" in edit.text
    stored = Response.objects.get()
    assert [h.score for h in stored.history.order_by("history_date")] == [8, 6]


# --- 3. Line breaks count once against max_length, as the browser's maxlength counts them --------
# A browser counts a textarea's line break as one character but submits CRLF (two): a text that
# fitted the box was refused as "at most 4000 characters".


def test_an_answer_page_reason_the_browser_allowed_is_accepted():
    url = _answer_url()
    reason = "abc\r\n" * 900  # 3,600 characters as the browser counts them (LF = 1), 4,500 submitted

    response = Client().post(url, {"score": 3, "reason": reason, "suggestion": reason})

    assert "at most 4000 characters" not in response.text
    stored = Response.objects.get()
    assert stored.reason == stored.suggestion == ("abc\n" * 900).strip()


def test_an_answer_page_reason_past_the_box_is_still_refused():
    response = Client().post(_answer_url(), {"score": 3, "reason": "abc\r\n" * 1001})  # 4,004 as counted

    assert "at most 4000 characters" in response.text
    assert not Response.objects.exists()


def test_an_other_reason_text_the_browser_allowed_is_accepted():
    url = _why_url()
    other = ReasonCategory.objects.get(slug="other")
    text = "abc\r\n" * 450  # 1,800 characters as the browser counts them, 2,250 submitted

    response = Client().post(url, {"reason": other.pk, "reason_text": text}, follow=True)

    assert "at most 2000 characters" not in response.text
    assert "Thank you" in response.text


# --- 4. An empty token gets the customers' "link not found" page, not the staff 404 --------------
# TOKEN_ADDRESS needed at least one character of token, so /s// and /why// (a link whose token a
# mail client or a template lost) fell to the staff page_not_found, without the private headers.


@pytest.mark.parametrize("path", ["/s//", "/s//unsubscribe/", "/why//"])
def test_an_empty_token_gets_the_same_404_as_an_unknown_one(path):
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    unknown = client.get("/s/unknown-token/")

    response = client.get(path)

    assert response.status_code == 404
    assert response.content == unknown.content
    _assert_private(response)
