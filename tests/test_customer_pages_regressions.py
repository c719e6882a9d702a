"""Pages a customer can meet at their emailed links, error pages included: the private headers,
their language, no staff wording. Regressions found by an audit of the customer pages."""


import pytest
from django.test import Client

from accounting.models import ReasonCategory
from accounting.services import reason_request_create
from tests.factories import CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def _invitation(language="en"):
    return InvitationFactory(customer=CustomerFactory(language=language))


def _why_token(language="en"):
    return reason_request_create(customer=CustomerFactory(language=language)).token


def _boom(*args, **kwargs):
    raise RuntimeError("audit: simulated failure")


# --- 1. Every response at a token address keeps the token private ---------------------------------
# README "Answer pages": "Token pages send Referrer-Policy: same-origin, Cache-Control: no-store,
# X-Robots-Tag: noindex"; accounting/public_views.py: "Every response of the token page carries" them.
# Only responses built inside the views get them (cxplatform/token_pages.py:private); the 405 from
# require_http_methods, Django's CSRF 403, the 400 and 500 handlers, and the 404 of a token
# address with something after it are sent without no-store and noindex.


def _case_405_answer(monkeypatch):
    return Client().put(f"/s/{_invitation().token}/")


def _case_405_unsubscribe(monkeypatch):
    return Client().delete(f"/s/{_invitation().token}/unsubscribe/")


def _case_405_why(monkeypatch):
    return Client().put(f"/why/{_why_token()}/")


def _case_403_csrf_answer(monkeypatch):
    return Client(enforce_csrf_checks=True).post(f"/s/{_invitation().token}/", {"score": 9})


def _case_403_csrf_why(monkeypatch):
    other = ReasonCategory.objects.get(slug="other")
    return Client(enforce_csrf_checks=True).post(f"/why/{_why_token()}/", {"reason": other.pk, "reason_text": "x"})


def _case_400_answer(monkeypatch):
    data = {f"f{i}": "x" for i in range(1200)}  # over DATA_UPLOAD_MAX_NUMBER_FIELDS: TooManyFieldsSent
    data["score"] = 3
    return Client().post(f"/s/{_invitation().token}/", data)


def _case_500_answer(monkeypatch):
    import surveys.public_views

    token = _invitation().token
    monkeypatch.setattr(surveys.public_views, "survey_question", _boom)
    return Client(raise_request_exception=False).get(f"/s/{token}/?score=9")


def _case_500_why(monkeypatch):
    import accounting.public_views

    token = _why_token()
    monkeypatch.setattr(accounting.public_views, "reason_request_state", _boom)
    return Client(raise_request_exception=False).get(f"/why/{token}/")


def _case_404_real_token_with_encoded_query(monkeypatch):
    # A mail client that percent-encodes the "?" of the score link: the real token, then a 404.
    return Client().get(f"/s/{_invitation().token}/%3Fscore=9")


def _case_301_answer_without_final_slash(monkeypatch):
    # A mail client that trimmed the final slash: Django's permanent redirect holds the token.
    return Client().get(f"/s/{_invitation().token}")


def _case_301_why_without_final_slash(monkeypatch):
    return Client().get(f"/why/{_why_token()}")


CASES = {
    "301-answer-without-final-slash": (_case_301_answer_without_final_slash, 301),
    "301-why-without-final-slash": (_case_301_why_without_final_slash, 301),
    "405-answer": (_case_405_answer, 405),
    "405-unsubscribe": (_case_405_unsubscribe, 405),
    "405-why": (_case_405_why, 405),
    "403-csrf-answer": (_case_403_csrf_answer, 403),
    "403-csrf-why": (_case_403_csrf_why, 403),
    "400-answer": (_case_400_answer, 400),
    "500-answer": (_case_500_answer, 500),
    "500-why": (_case_500_why, 500),
    "404-real-token-encoded-query": (_case_404_real_token_with_encoded_query, 404),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_responses_at_a_token_address_keep_the_private_headers(case, monkeypatch):
    make, status = CASES[case]
    response = make(monkeypatch)

    assert response.status_code == status
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.get("Cache-Control", ""), f"{case}: Cache-Control {response.get('Cache-Control')!r}"
    assert "noindex" in response.get("X-Robots-Tag", ""), f"{case}: X-Robots-Tag {response.get('X-Robots-Tag')!r}"


# --- 2. The "form expired" page of a customer's form speaks the invitation's language ------------
# README: the email, its reminder and the answer page speak the language fixed in the invitation
# "even if the customer's language changes meanwhile"; accounting/public_views.py: "Pages speak the
# customer's language, whatever the browser says". Django's CSRF failure page at the same address
# follows the browser's Accept-Language instead (LocaleMiddleware), so a French customer on an
# English-language browser (or a phone set to English) reads the 403 in English.


@pytest.mark.parametrize(("language", "title"), [("fr", "Ce formulaire a expiré"),
                                                 ("de", "Dieses Formular ist abgelaufen")])
def test_the_answer_forms_csrf_page_speaks_the_invitations_language(language, title):
    invitation = _invitation(language)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")

    page = client.get(f"/s/{invitation.token}/")
    assert f'<html lang="{language}">' in page.text  # the form itself is in the customer's language

    refused = client.post(f"/s/{invitation.token}/", {"score": 9})  # no CSRF token: cookies blocked
    assert refused.status_code == 403
    assert f'<html lang="{language}">' in refused.text
    assert title in refused.text


def test_the_why_forms_csrf_page_speaks_the_customers_language():
    token = _why_token("de")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    other = ReasonCategory.objects.get(slug="other")

    refused = client.post(f"/why/{token}/", {"reason": other.pk, "reason_text": "x"})

    assert refused.status_code == 403
    assert "Dieses Formular ist abgelaufen" in refused.text


# --- 3. 404 and 405 pages a customer meets: English only, staff layout and staff wording ----------
# templates/404.html and templates/405.html extend the staff base.html and have no {% translate %}
# at all (400.html, 403_csrf.html and 500.html are translated). A German customer whose score link
# was mangled gets "Page not found" / "Skip to content" under a "CX Platform" brand; a 405 at a
# token address tells them about the "Launch, Recompute, Log out" buttons.


def test_a_german_customers_mangled_survey_link_gets_a_german_404():
    invitation = _invitation("de")

    response = Client(HTTP_ACCEPT_LANGUAGE="de").get(f"/s/{invitation.token}/%3Fscore=9")

    assert response.status_code == 404
    assert '<html lang="de">' in response.text
    assert "Page not found" not in response.text
    assert "Skip to content" not in response.text


@pytest.mark.parametrize("path", ["/s/{answer}/", "/s/{answer}/unsubscribe/", "/why/{why}/"])
def test_a_405_at_a_customer_address_is_not_the_staff_page(path):
    url = path.format(answer=_invitation("de").token, why=_why_token("de"))

    response = Client(HTTP_ACCEPT_LANGUAGE="de").delete(url)

    assert response.status_code == 405
    assert "Launch, Recompute, Log out" not in response.text
    assert "This address is not a page" not in response.text
    assert '<html lang="de">' in response.text


# --- 4. "Other" with a too-long text is told to give its text --------------------------------------
# accounting/public_views.py ReasonAnswerForm.clean: when reason_text fails max_length (2000) it is
# missing from cleaned_data, so clean() also adds "Please tell us what the other reason is." to a
# customer who did write one. (The textarea's maxlength stops a browser, not a script's POST; CRLF
# line breaks count as one character since tests/surveys/test_public_pages_regressions.py.)


def test_other_with_a_too_long_text_is_not_told_the_text_is_missing():
    token = _why_token("en")
    other = ReasonCategory.objects.get(slug="other")
    text = "line\n" * 401  # 2,005 characters, however a browser counts the line breaks

    response = Client().post(f"/why/{token}/", {"reason": other.pk, "reason_text": text})

    assert response.status_code == 400
    assert "at most 2000 characters" in response.text
    assert "Please tell us what the other reason is." not in response.text
