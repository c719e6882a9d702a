"""Mutation audit (web pages, surveys): what the survey pages say after a save or a launch, and the
email preview's language."""

import pytest
from django.urls import reverse

from surveys.models import Survey
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _create(client, **fields):
    data = {
        "name": "Pulse", "kind": "relationship", "status": "draft", "question": "How likely?",
        "expiry_days": 30, "throttle_days": 90, "audience": "all", **fields,
    }
    return client.post(reverse("surveys:survey-create"), data, follow=True)


def test_a_survey_relaunched_more_often_than_its_throttle_is_warned_about(client_as):
    """README: "a survey saved to relaunch more often than its throttle gets a warning" (every 30
    days, throttled for 31: each relaunch suppresses, as throttled, whom the last one reached)."""
    response = _create(client_as("analyst"), repeat_days=30, throttle_days=31)

    assert Survey.objects.filter(name="Pulse").exists()
    assert any("relaunches every 30 days but throttles for 31" in text for text in _messages(response))


def test_a_throttle_as_long_as_the_relaunch_interval_gets_no_warning(client_as):
    """README: a throttle of N days counts today and the N - 1 days before, "so a survey relaunched
    every N days reaches its customers again": equal periods are fine, and not warned about."""
    response = _create(client_as("analyst"), repeat_days=30, throttle_days=30)

    assert Survey.objects.filter(name="Pulse").exists()
    assert not any("throttles for" in text for text in _messages(response))


def _launch(client, survey):
    return client.post(reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on"}, follow=True)


def test_the_launch_message_counts_the_queued_and_the_suppressed_invitations(client_as):
    """README: "the launch message says how many were queued and suppressed": two customers with an
    address are queued, the two without one are suppressed (the total, not the number of reasons)."""
    CustomerFactory.create_batch(2)
    CustomerFactory.create_batch(2, email="")
    survey = SurveyFactory(throttle_days=0)

    response = _launch(client_as("analyst"), survey)

    assert response.redirect_chain == [(reverse("surveys:survey-detail", args=[survey.pk]), 302)]
    assert _messages(response) == ["Launched to 4 customer(s): 2 queued for sending, 2 suppressed."]


def test_a_launch_where_nobody_can_be_emailed_is_a_warning_not_a_success(client_as):
    """A launch whose whole audience is suppressed says so, and that nobody was emailed."""
    CustomerFactory.create_batch(3, email="")
    survey = SurveyFactory(throttle_days=0)

    response = _launch(client_as("analyst"), survey)

    assert _messages(response) == [
        "Launched to 3 customer(s), but nobody can be emailed: all 3 are suppressed (their reasons are below)."
    ]
    assert [message.level_tag for message in response.context["messages"]] == ["warning"]


def test_the_email_preview_of_a_survey_in_french_is_in_french(client_as):
    """A survey set to one language sends every email in it: its preview shows that email, not the
    English one."""
    survey = SurveyFactory(language="fr")

    page = client_as("analyst").get(reverse("surveys:survey-preview", args=[survey.pk]))

    body = page.context["preview"]["message"].body
    assert "Bonjour Sample Customer," in body and "Hello" not in body
