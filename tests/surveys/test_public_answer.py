"""The public NPS answer page, /s/<token>/, reached from the score links of the invitation email."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.models import InvitationState, Response
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

QUESTION = "How likely are you to recommend Example Co to a friend or colleague?"


@pytest.fixture(autouse=True)
def _company(settings):
    settings.COMPANY_NAME = "Example Co"


@pytest.fixture
def invitation():
    return InvitationFactory(customer=CustomerFactory(language="en", segment="Enterprise"), touchpoint="support")


def url(token):
    return reverse("survey-answer", args=[token])


def answer(client, invitation, score, reason="", suggestion=""):
    """Post an answer and follow its redirect: the page the customer then sees."""
    data = {"score": score, "reason": reason, "suggestion": suggestion}
    return client.post(url(invitation.token), data, follow=True)


def checked_score(html):
    found = re.findall(r'<input type="radio" name="score" value="(\d+)"[^>]*checked', html)
    return int(found[0]) if found else None


def assert_private(response):
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]


def test_the_link_in_the_email_is_the_answer_page(invitation):
    assert url(invitation.token) == f"/s/{invitation.token}/"


# --- A GET never writes ----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?score=3", "?score=10", "?score=11", "?score=x"])
def test_a_get_shows_the_question_and_changes_nothing(client, invitation, query):
    response = client.get(url(invitation.token) + query)

    assert response.status_code == 200
    assert QUESTION in response.text
    assert "0 = not at all likely, 10 = extremely likely" in response.text
    assert_private(response)
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT
    assert invitation.responded_at is None
    assert not Response.objects.exists()


def test_a_score_link_preselects_that_score(client, invitation):
    assert checked_score(client.get(url(invitation.token) + "?score=7").text) == 7
    assert checked_score(client.get(url(invitation.token)).text) is None
    assert checked_score(client.get(url(invitation.token) + "?score=42").text) is None


def test_the_scale_is_an_accessible_radio_group(client, invitation):
    html = client.get(url(invitation.token)).text

    assert re.search(r"<fieldset[^>]*>\s*<legend>", html)
    for score in range(11):
        assert f'<label for="id_score_{score}"' in html
    assert '<label for="id_reason">What is the most important reason for your score?</label>' in html
    assert '<label for="id_suggestion">What could we do to improve?</label>' in html
    assert "style=" not in html and "<script" not in html


def test_an_edited_question_is_shown_as_written(client):
    survey = SurveyFactory(question="Would you recommend {company} to a colleague?", improve_prompt="")
    invitation = InvitationFactory(survey=survey)

    html = client.get(url(invitation.token)).text

    assert "Would you recommend Example Co to a colleague?" in html
    assert 'name="suggestion"' not in html


def test_the_page_costs_one_query(client, invitation, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get(url(invitation.token) + "?score=9")


def test_a_head_request_changes_nothing(client, invitation):
    assert client.head(url(invitation.token) + "?score=0").status_code == 200
    assert not Response.objects.exists()


# --- Answering ---------------------------------------------------------------------------------


def test_a_post_stores_one_response_with_its_category(client, invitation):
    response = answer(client, invitation, 9, reason="Fast support", suggestion="Cheaper plans")

    assert response.redirect_chain == [(url(invitation.token) + "?thanks=recorded", 303)]
    assert response.status_code == 200
    assert "Thank you" in response.text and "Your answer has been recorded" in response.text
    assert_private(response)
    stored = Response.objects.get()
    assert (stored.score, stored.category) == (9, "promoter")
    assert (stored.reason, stored.suggestion) == ("Fast support", "Cheaper plans")
    assert (stored.touchpoint, stored.segment, stored.language) == ("support", "Enterprise", "en")
    assert (stored.survey, stored.customer) == (invitation.survey, invitation.customer)
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED
    assert invitation.responded_at == stored.answered_at


def test_a_post_without_a_score_shows_the_form_again(client, invitation):
    response = client.post(url(invitation.token), {"reason": "hmm"})

    assert response.status_code == 400
    assert "Please choose a score from 0 to 10." in response.text
    assert not Response.objects.exists()


def test_a_second_post_within_the_window_updates_the_answer(client, invitation):
    answer(client, invitation, 9, reason="first")
    response = answer(client, invitation, 4, reason="second thoughts")

    assert response.redirect_chain == [(url(invitation.token) + "?thanks=updated", 303)]
    assert "Your answer has been updated" in response.text
    stored = Response.objects.get()
    assert (stored.score, stored.category, stored.reason) == (4, "detractor", "second thoughts")
    assert [h.score for h in stored.history.order_by("history_date")] == [9, 4]


def test_an_answered_link_shows_the_answer_for_editing(client, invitation):
    answer(client, invitation, 8, reason="Good enough")

    html = client.get(url(invitation.token)).text

    assert checked_score(html) == 8
    assert "Good enough</textarea>" in html
    assert "Update my answer" in html
    assert checked_score(client.get(url(invitation.token) + "?score=2").text) == 2


def test_after_the_window_the_link_says_already_answered_and_changes_nothing(client, invitation, settings):
    settings.SURVEY_EDIT_WINDOW_HOURS = 72
    answer(client, invitation, 9, reason="first")

    with time_machine.travel(timezone.now() + dt.timedelta(hours=73)):
        get = client.get(url(invitation.token))
        post = answer(client, invitation, 0, reason="changed")

    for response in (get, post):
        assert response.status_code == 200
        assert "You have already answered" in response.text
        assert_private(response)
    stored = Response.objects.get()
    assert (stored.score, stored.reason) == (9, "first")
    assert stored.history.count() == 1


def test_an_expired_link_answers_410_and_stores_nothing(client):
    invitation = InvitationFactory(expires_at=timezone.now() - dt.timedelta(minutes=1))

    get = client.get(url(invitation.token) + "?score=9")
    post = answer(client, invitation, 9)

    for response in (get, post):
        assert response.status_code == 410
        assert "This link has expired" in response.text
        assert_private(response)
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT


def test_an_invitation_in_the_expired_state_answers_410(client):
    invitation = InvitationFactory(state=InvitationState.EXPIRED)
    assert client.get(url(invitation.token)).status_code == 410


def test_unknown_and_malformed_tokens_get_the_same_404(client, invitation):
    suppressed = InvitationFactory(state=InvitationState.SUPPRESSED, suppression_reason="throttled")
    tokens = [invitation.token[:-1] + ("A" if invitation.token[-1] != "A" else "B"), "x", "%00", "é" * 300,
              "a" * 101, suppressed.token]

    responses = [client.get(url(token) + "?score=5") for token in tokens]
    responses.append(client.post(url("nope"), {"score": 5}))

    bodies = {response.content for response in responses}
    assert len(bodies) == 1
    assert all(response.status_code == 404 for response in responses)
    assert "Link not found" in responses[0].text
    assert all_private(responses)
    assert not Response.objects.exists()


def all_private(responses):
    for response in responses:
        assert_private(response)
    return True


def test_the_answer_form_is_csrf_protected(invitation):
    strict = Client(enforce_csrf_checks=True)

    refused = strict.post(url(invitation.token), {"score": 9})
    assert refused.status_code == 403
    assert not Response.objects.exists()

    page = strict.get(url(invitation.token))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    accepted = strict.post(url(invitation.token), {"score": 9, "csrfmiddlewaretoken": csrf})
    assert accepted.status_code == 303
    assert Response.objects.count() == 1


def test_a_french_customer_gets_the_french_page(client):
    invitation = InvitationFactory(customer=CustomerFactory(language="fr"))

    response = client.get(url(invitation.token), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in response.text
    assert "Quelle est la probabilité que vous recommandiez Example Co" in response.text
    assert "0 = pas du tout probable, 10 = très probable" in response.text


def test_a_german_customer_gets_the_german_thank_you_page(client):
    invitation = InvitationFactory(customer=CustomerFactory(language="de"))

    response = answer(client, invitation, 10)

    assert "Vielen Dank" in response.text
    assert Response.objects.get().language == "de"


def test_verbatims_are_escaped(client, invitation):
    script = "<script>alert('x')</script>"

    thanks = answer(client, invitation, 3, reason=script, suggestion=script)
    edit = client.get(url(invitation.token))

    for response in (thanks, edit):
        assert script not in response.text
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in response.text
    assert Response.objects.get().reason == script


def test_it_rate_limits_per_client_ip(client, invitation, settings, fresh_rate_limits):
    settings.SURVEY_PUBLIC_RATE = "5/m"

    statuses = [client.get(url(invitation.token)).status_code for _ in range(5)]
    limited = client.post(url(invitation.token), {"score": 9})
    other_ip = client.get(url(invitation.token), REMOTE_ADDR="10.9.8.7")

    assert statuses == [200] * 5
    assert limited.status_code == 429
    assert "Too many requests" in limited.text
    assert limited["Retry-After"] == "60"
    assert other_ip.status_code == 200
    assert not Response.objects.exists()
