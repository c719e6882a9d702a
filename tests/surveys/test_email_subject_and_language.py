"""The invitation's subject is plain text; the email and its answer page speak one language, the
invitation's, even after the customer changes theirs."""

import pytest
from django.core import mail
from django.urls import reverse

from surveys.emails import invitation_message
from surveys.launch import survey_launch
from surveys.models import Invitation
from surveys.sending import send_batch
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def test_the_subject_does_not_html_escape_the_company_name(settings):
    settings.COMPANY_NAME = "Smith & Sons"

    message = invitation_message(InvitationFactory())

    assert message.subject == "How likely are you to recommend Smith & Sons?"
    assert "Smith &amp; Sons" in message.alternatives[0][0]  # the HTML part stays escaped


@pytest.mark.usefixtures("fresh_rate_limits")
def test_the_email_keeps_the_invitation_language_when_the_customer_changes_theirs(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    customer = CustomerFactory(language="fr")
    with django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=SurveyFactory())  # queued, not sent yet
    customer.language = "de"
    customer.save()

    send_batch()

    invitation = Invitation.objects.get()
    page = client.get(reverse("survey-answer", args=[invitation.token]))
    (sent,) = mail.outbox
    assert invitation.language == "fr"
    assert '<html lang="fr">' in sent.alternatives[0][0]
    assert page["Content-Language"] == "fr"
