"""Emails read as a mail client reads them: regressions found by an audit of every email sent."""

import datetime as dt
import email
from email import policy

import pytest
from django.core import mail
from django.test import Client

from surveys import sending
from surveys.alerts import send_detractor_alert
from surveys.forms import SurveyForm
from surveys.models import InvitationState, Response, Survey
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


def parsed(message):
    return email.message_from_bytes(message.message().as_bytes(), policy=policy.default)


def parts(msg):
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def _queued(survey):
    return InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None, expires_at=None)


def test_a_sender_address_on_an_internationalised_domain_is_sent_as_punycode(api_client_as, client_as):
    created = api_client_as("admin").post("/api/surveys/", {"name": "IDN", "sender_email": "info@bücher.de"},
                                          format="json")
    assert created.status_code == 201
    assert client_as("admin").get(f"/surveys/{created.json()['id']}/").status_code == 200
    invitation = _queued(Survey.objects.get(name="IDN"))
    sending.send_batch()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT, invitation.last_error
    assert "info@xn--bcher-kva.de" in parsed(mail.outbox[0])["From"]


def test_a_sender_name_with_a_line_break_is_refused_by_the_api_and_the_form(api_client_as):
    created = api_client_as("admin").post(
        "/api/surveys/", {"name": "NL", "sender_name": "Ana\r\nBcc: attacker@evil.example"}, format="json"
    )
    assert created.status_code == 400
    assert "line breaks" in created.json()["sender_name"][0]
    form = SurveyForm(data={"name": "NL", "sender_name": "Ana\nBcc: x@evil.example"})
    assert not form.is_valid()
    assert "sender_name" in form.errors
    assert not Survey.objects.filter(name="NL").exists()


@pytest.mark.parametrize(("language", "left", "full"), [
    ("en", "works for 2 days", "works for 10 days"), ("de", "2 Tage", "10 Tage"), ("fr", "2 jours", "10 jours"),
])
def test_a_reminder_tells_the_days_the_link_has_left(language, left, full):
    """Expiry 10 days, reminder after 7: the reminder goes out with 2 days left and says so."""
    survey = SurveyFactory(expiry_days=10, reminder_days=7, language=language)
    sent_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=8, hours=1)
    invitation = InvitationFactory(survey=survey, sent_at=sent_at, expires_at=sent_at + dt.timedelta(days=10))
    sending.send_reminders()
    text, html = parts(parsed(mail.outbox[0]))
    assert left in text and left in html
    assert full not in text and full not in html
    assert invitation.token in text


def _detractor_for(owner):
    customer = CustomerFactory(name="Jörg Secret", email="jorg.secret@customer.example.com")
    invitation = InvitationFactory(survey=SurveyFactory(owner=owner), customer=customer)
    response = ResponseFactory(invitation=invitation, score=2, reason="Too slow")
    Response.objects.filter(pk=response.pk).update(alert_due=True)  # as a new detractor's answer leaves it
    return response


def test_a_deactivated_owner_gets_no_detractor_alert():
    owner = UserFactory(email="left.the.company@staff.example.com", role="analyst", password=None)
    owner.is_active = False
    owner.save()
    send_detractor_alert.apply(args=[_detractor_for(owner).pk])
    assert mail.outbox == []


def test_an_owner_who_may_not_see_responses_gets_no_detractor_alert():
    owner = UserFactory(email="viewer@staff.example.com", role="viewer", password=None)
    response = _detractor_for(owner)
    client = Client()
    client.force_login(owner)
    assert client.get(f"/responses/{response.pk}/").status_code == 403
    send_detractor_alert.apply(args=[response.pk])
    assert mail.outbox == []


def test_the_owner_choices_are_active_staff_who_may_see_responses():
    analyst = UserFactory(username="ann", role="analyst", password=None)
    admin = UserFactory(username="adam", role="admin", password=None)
    UserFactory(username="vic", role="viewer", password=None)
    gone = UserFactory(username="gus", role="analyst", password=None)
    gone.is_active = False
    gone.save()
    choices = set(SurveyForm().fields["owner"].queryset)
    assert choices == {analyst, admin}


def test_the_detractor_alert_is_marked_auto_submitted():
    owner = UserFactory(email="owner@staff.example.com", role="analyst", password=None)
    send_detractor_alert.apply(args=[_detractor_for(owner).pk])
    message = parsed(mail.outbox[0])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"
