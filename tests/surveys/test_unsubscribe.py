"""The public unsubscribe page, /s/<token>/unsubscribe/, and RFC 8058 one-click POSTs."""

import pytest
from django.test import Client
from django.urls import reverse

from surveys.models import InvitationState
from tests.factories import CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def invitation():
    return InvitationFactory(customer=CustomerFactory(language="en"))


def url(token):
    return reverse("survey-unsubscribe", args=[token])


def opted_out(invitation):
    invitation.customer.refresh_from_db()
    return invitation.customer.survey_opt_out


def test_the_unsubscribe_link_is_under_the_answer_page(invitation):
    assert url(invitation.token) == f"/s/{invitation.token}/unsubscribe/"


def test_a_get_asks_for_confirmation_and_changes_nothing(client, invitation):
    response = client.get(url(invitation.token))

    assert response.status_code == 200
    assert "Yes, unsubscribe me" in response.text
    assert '<form method="post">' in response.text
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert not opted_out(invitation)


def test_a_post_opts_the_customer_out(client, invitation):
    response = client.post(url(invitation.token))

    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert opted_out(invitation)


def test_a_one_click_post_without_csrf_or_cookies_opts_out(invitation):
    mail_provider = Client(enforce_csrf_checks=True)

    response = mail_provider.post(
        url(invitation.token),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert opted_out(invitation)


def test_unsubscribing_twice_is_harmless(client, invitation):
    client.post(url(invitation.token))
    assert client.post(url(invitation.token)).status_code == 200
    assert opted_out(invitation)


def test_an_expired_or_answered_invitation_still_unsubscribes(client):
    expired = InvitationFactory(state=InvitationState.EXPIRED)
    answered = InvitationFactory(state=InvitationState.RESPONDED)

    for invitation in (expired, answered):
        assert client.post(url(invitation.token)).status_code == 200
        assert opted_out(invitation)


def test_unknown_and_malformed_tokens_get_the_404_of_the_answer_page(client, invitation):
    bodies = {
        client.post(url("x" * 43)).content,
        client.get(url("%%")).content,
        client.get(reverse("survey-answer", args=["nope"])).content,
    }
    assert len(bodies) == 1
    assert client.post(url("x" * 43)).status_code == 404
    assert not opted_out(invitation)


def test_a_french_customer_gets_the_french_page(client):
    invitation = InvitationFactory(customer=CustomerFactory(language="fr"))

    response = client.get(url(invitation.token))

    assert response["Content-Language"] == "fr"
    assert "Oui, me désabonner" in response.text


def test_it_is_rate_limited_with_the_answer_page(client, invitation, settings, fresh_rate_limits):
    settings.SURVEY_PUBLIC_RATE = "2/m"
    client.get(reverse("survey-answer", args=[invitation.token]))
    client.get(url(invitation.token))

    response = client.post(url(invitation.token))

    assert response.status_code == 429
    assert not opted_out(invitation)
