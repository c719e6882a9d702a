"""Bounce and complaint events from django-anymail's tracking signal."""

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.utils import timezone

from surveys.models import InvitationState, SuppressedAddress
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def send_event(event_type, *, recipient, message_id=None, metadata=None):
    event = AnymailTrackingEvent(
        event_type=event_type, timestamp=timezone.now(), message_id=message_id, recipient=recipient,
        metadata=metadata or {}, description="mailbox unavailable",
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")


def test_a_bounce_found_by_message_id_marks_the_invitation_and_suppresses_the_address():
    invitation = InvitationFactory(email="Jo@Customer.example.com", message_id="<abc@example.com>")
    send_event("bounced", recipient="Jo@Customer.example.com", message_id="<abc@example.com>")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED and invitation.bounced_at is not None
    address = SuppressedAddress.objects.get()
    assert (address.email, address.kind) == ("jo@customer.example.com", "bounced")


def test_a_complaint_found_by_metadata_is_recorded_as_a_complaint():
    invitation = InvitationFactory(message_id="<local@example.com>")
    send_event("complained", recipient=invitation.email, message_id="esp-123",
               metadata={"invitation_id": str(invitation.pk)})
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED
    assert SuppressedAddress.objects.get().kind == "complained"


def test_a_rejected_event_counts_as_a_bounce_and_twice_is_harmless():
    invitation = InvitationFactory(message_id="<r@example.com>")
    send_event("rejected", recipient=invitation.email, message_id="<r@example.com>")
    send_event("rejected", recipient=invitation.email, message_id="<r@example.com>")
    assert SuppressedAddress.objects.count() == 1


def test_a_response_is_never_overwritten_by_a_late_complaint():
    invitation = InvitationFactory(state=InvitationState.RESPONDED, message_id="<x@example.com>")
    send_event("complained", recipient=invitation.email, message_id="<x@example.com>")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED
    assert SuppressedAddress.objects.filter(email=invitation.email).exists()


def test_other_events_are_ignored():
    invitation = InvitationFactory(message_id="<d@example.com>")
    send_event("delivered", recipient=invitation.email, message_id="<d@example.com>")
    send_event("deferred", recipient=invitation.email, message_id="<d@example.com>")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT and not SuppressedAddress.objects.exists()


def test_a_bounced_address_is_suppressed_at_the_next_launch():
    from surveys.launch import survey_launch
    from tests.factories import SurveyFactory

    invitation = InvitationFactory(message_id="<b@example.com>")
    send_event("bounced", recipient=invitation.email, message_id="<b@example.com>")
    launch = survey_launch(survey=SurveyFactory(throttle_days=0))
    assert launch.invitations.get().suppression_reason == "bounced_before"


# --- Anonymous surveys: an event after delivery must not set non-responders apart ---------------


def _shown(api_client_as, survey):
    rows = api_client_as("admin").get("/api/invitations/", {"survey": survey.pk}).json()["results"]
    return {row["id"]: (row["state"], row["bounced_at"]) for row in rows}


@pytest.mark.parametrize("event_type", ["complained", "bounced"])
def test_anonymous_survey_late_event_leaves_answered_and_silent_alike(api_client_as, event_type):
    """A complaint (the email arrived) or a bounce of the reminder (sent to non-responders only,
    found by the same invitation id) would mark only the unanswered one: who answered shows."""
    survey = SurveyFactory(anonymous=True)
    answered = ResponseFactory(invitation__survey=survey, survey=survey).invitation
    silent = InvitationFactory(survey=survey, reminder_sent_at=timezone.now())
    for invitation in (answered, silent):
        send_event(event_type, recipient=invitation.email, message_id="esp-late",
                   metadata={"invitation_id": str(invitation.pk)})
    shown = _shown(api_client_as, survey)
    assert shown[answered.pk] == shown[silent.pk] == ("delivered", None), shown
    silent.refresh_from_db()
    assert (silent.state, silent.bounced_at, silent.last_error) == (InvitationState.SENT, None, "")
    assert SuppressedAddress.objects.filter(email__in=[answered.email, silent.email]).count() == 2


def test_anonymous_survey_first_email_hard_bounce_still_marks_bounced():
    """The first email never arrived, so the customer could not have answered: nothing revealed."""
    invitation = InvitationFactory(survey=SurveyFactory(anonymous=True), message_id="<first@example.com>")
    send_event("bounced", recipient=invitation.email, message_id="<first@example.com>")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED and invitation.bounced_at is not None
    assert SuppressedAddress.objects.filter(email=invitation.email).exists()


def test_named_survey_complaint_and_reminder_bounce_still_mark_bounced():
    complained = InvitationFactory(message_id="<c@example.com>")
    reminded = InvitationFactory(reminder_sent_at=timezone.now())
    send_event("complained", recipient=complained.email, message_id="<c@example.com>")
    send_event("bounced", recipient=reminded.email, message_id="esp-reminder",
               metadata={"invitation_id": str(reminded.pk)})
    for invitation in (complained, reminded):
        invitation.refresh_from_db()
        assert invitation.state == InvitationState.BOUNCED and invitation.bounced_at is not None


def test_a_metadata_id_of_non_ascii_digits_is_no_invitation_and_the_bounce_still_counts():
    # "²".isdigit() is true, and int("²") raised ValueError: the webhook failed, the address kept.
    invitation = InvitationFactory(message_id="<kept@example.com>")
    send_event("bounced", recipient="Jo@Customer.example.com", message_id="esp-9", metadata={"invitation_id": "²"})
    invitation.refresh_from_db()
    assert invitation.state != InvitationState.BOUNCED
    assert SuppressedAddress.objects.get().email == "jo@customer.example.com"
