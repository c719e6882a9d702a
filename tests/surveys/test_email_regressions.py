"""Emails read as a mail client reads them: regressions found by an audit of every email sent."""

import datetime as dt
import email
from email import policy
from email.header import decode_header, make_header

import pytest
from django.core import mail
from django.test import Client
from django.test.client import MULTIPART_CONTENT

from surveys import sending
from surveys.alerts import send_detractor_alert
from surveys.emails import invitation_message
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


# --- The sender's name as typed (formataddr pre-encoded it: staff pages and anymail showed =?utf-8?b?...)

SENDER = "Zoë Müller, Équipe Client"


def test_the_from_header_decodes_to_the_sender_name_as_typed():
    invitation = InvitationFactory(survey=SurveyFactory(sender_name=SENDER), customer=CustomerFactory())
    assert parsed(invitation_message(invitation))["From"].addresses[0].display_name == SENDER


def test_the_survey_page_and_preview_show_the_sender_name_as_typed(client_as):
    survey = SurveyFactory(sender_name=SENDER, sender_email="team@cx.example.org")
    client = client_as("admin")
    for url in (f"/surveys/{survey.pk}/", f"/surveys/{survey.pk}/preview/"):
        page = client.get(url).content.decode()
        assert "=?utf-8?" not in page
        assert "Zoë Müller" in page


def test_an_anymail_provider_gets_the_sender_name_as_typed(settings):
    # anymail hands the display name to the provider's JSON API as plain text.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    invitation = InvitationFactory(survey=SurveyFactory(sender_name=SENDER), customer=CustomerFactory())
    invitation_message(invitation).send()
    assert mail.outbox[-1].anymail_test_params["from"].display_name == SENDER


def test_a_long_non_ascii_sender_name_is_folded_into_several_encoded_words():
    name = ("Équipe Expérience Client — Société Générale des Eaux de Müller & Fils, Zürich " * 2)[:100]
    invitation = InvitationFactory(survey=SurveyFactory(sender_name=name), customer=CustomerFactory())
    header = invitation_message(invitation).message()["From"]
    assert header.count("=?utf-8?") > 1  # one 164-character word before
    # RFC 2047 decoding (policy.default's parser puts a space between adjacent words: a stdlib bug).
    assert str(make_header(decode_header(header))).startswith(f"{name} <")


def test_a_multipart_one_click_unsubscribe_post_opts_out(fresh_rate_limits):
    # RFC 8058 lets the mailbox provider post multipart/form-data, with no CSRF token or cookie.
    invitation = InvitationFactory(customer=CustomerFactory(language="de"))
    header = invitation_message(invitation).extra_headers["List-Unsubscribe"]
    path = header.strip("<>").split("127.0.0.1:8000", 1)[1]
    response = Client(enforce_csrf_checks=True).post(
        path, {"List-Unsubscribe": "One-Click"}, content_type=MULTIPART_CONTENT
    )
    assert 200 <= response.status_code < 300
    invitation.customer.refresh_from_db()
    assert invitation.customer.survey_opt_out
