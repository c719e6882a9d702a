"""The edit form's "Preview the email": the form's unsaved wording, rendered afresh, never cached
under the saved survey (where a page or a real send would find it)."""

import pytest
from django.core import mail
from django.urls import reverse

from surveys.launch import survey_launch
from surveys.sending import send_batch
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def edit_preview(client, survey, question):
    data = {"name": survey.name, "kind": "relationship", "status": survey.status, "question": question,
            "expiry_days": 30, "throttle_days": 0, "audience": "all", "preview": "1"}
    page = client.post(reverse("surveys:survey-edit", args=[survey.pk]), data)
    assert page.status_code == 200
    return page.context["preview"]["message"]


def test_the_edit_preview_shows_the_unsaved_wording_after_the_saved_preview_was_seen(client_as):
    client = client_as("analyst")
    survey = SurveyFactory(question="Saved wording?")
    saved = client.get(reverse("surveys:survey-preview", args=[survey.pk])).context["preview"]["message"]

    edited = edit_preview(client, survey, "Edited wording?")

    assert "Saved wording?" in saved.body
    assert "Edited wording?" in edited.body and "Saved wording?" not in edited.body


def test_an_edit_preview_does_not_change_what_a_later_send_contains(client_as, django_capture_on_commit_callbacks,
                                                                   settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    # Greeted as the preview's made-up customer is (by name), and as it was before it had one.
    CustomerFactory(name="Jo")
    CustomerFactory(name="")
    survey = SurveyFactory(question="Saved wording?", throttle_days=0)
    with django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=survey)  # queued, not sent yet
    survey.refresh_from_db()

    edit_preview(client_as("analyst"), survey, "Draft wording?")
    send_batch()

    assert len(mail.outbox) == 2
    for sent in mail.outbox:
        assert "Saved wording?" in sent.body and "Draft wording?" not in sent.body


def test_the_preview_greets_the_sample_customer_by_name(client_as):
    survey = SurveyFactory()

    page = client_as("analyst").get(reverse("surveys:survey-preview", args=[survey.pk]))

    message = page.context["preview"]["message"]
    assert "Hello Sample Customer," in message.body
    assert "Sample Customer" in page.context["preview"]["html"]
