"""RFC 8058 one-click unsubscribes and the per-IP budget of the token pages (SURVEY_PUBLIC_RATE).

A mail provider posts its users' one-click unsubscribes from a handful of addresses: after a launch
one address may opt out more customers a minute than the budget allows. An unsubscribe POST whose
token opens an invitation is not counted; unknown and malformed tokens are, and once the budget is
spent every POST is refused, so guessing stays as slow as on the other token pages.
"""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import InvitationFactory
from tests.integration.smtp_sink import free_port

pytestmark = pytest.mark.django_db

PROVIDER = "203.0.113.25"


@pytest.fixture
def mail_provider(fresh_rate_limits, settings):
    """The provider's one address, with a budget of 3 requests a minute and counters at zero."""
    settings.SURVEY_PUBLIC_RATE = "3/m"
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=PROVIDER)


def one_click(client, token):
    return client.post(
        reverse("survey-unsubscribe", args=[token]),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def opted_out(invitation):
    invitation.customer.refresh_from_db()
    return invitation.customer.survey_opt_out


def test_a_provider_unsubscribes_more_customers_than_the_budget_from_one_address(mail_provider):
    invitations = InvitationFactory.create_batch(8)

    statuses = [one_click(mail_provider, invitation.token).status_code for invitation in invitations]

    assert statuses == [200] * 8
    assert all(opted_out(invitation) for invitation in invitations)


def test_valid_unsubscribes_leave_the_budget_to_the_other_pages(mail_provider):
    for invitation in InvitationFactory.create_batch(5):
        one_click(mail_provider, invitation.token)
    invitation = InvitationFactory()

    pages = [mail_provider.get(reverse("survey-answer", args=[invitation.token])).status_code for _ in range(3)]

    assert pages == [200] * 3


@pytest.mark.parametrize("guess", ["x" * 43, "x" * 500, "%%"])
def test_unknown_and_malformed_tokens_spend_the_budget(mail_provider, guess):
    statuses = [one_click(mail_provider, guess).status_code for _ in range(4)]

    assert statuses == [404, 404, 404, 429]


def test_once_the_budget_is_spent_a_valid_token_is_refused_too(mail_provider):
    """Else a guesser past the budget would still learn a hit: its 200 against the misses' 429."""
    invitation = InvitationFactory()
    for _ in range(3):
        one_click(mail_provider, "x" * 43)

    response = one_click(mail_provider, invitation.token)

    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert not opted_out(invitation)


def test_a_guess_spends_the_budget_of_the_other_token_pages(mail_provider):
    invitation = InvitationFactory()
    for _ in range(3):
        one_click(mail_provider, "x" * 43)

    response = mail_provider.get(reverse("survey-answer", args=[invitation.token]))

    assert response.status_code == 429


def test_without_the_cache_unsubscribes_and_misses_are_served_unlimited(settings):
    settings.SURVEY_PUBLIC_RATE = "3/m"
    mail_provider = Client(enforce_csrf_checks=True, REMOTE_ADDR=PROVIDER)
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}}
    invitations = InvitationFactory.create_batch(4)

    statuses = [one_click(mail_provider, invitation.token).status_code for invitation in invitations]
    misses = [one_click(mail_provider, "x" * 43).status_code for _ in range(4)]

    assert statuses == [200] * 4 and all(opted_out(invitation) for invitation in invitations)
    assert misses == [404] * 4
