"""A bounce suppresses the address for good only when it is permanent: a full mailbox, a greylisting
or a provider giving up on retries marks the invitation bounced and leaves the address alone.

The events are made by anymail's own parsers from each provider's payload, as the webhooks make them.
"""

import base64
import importlib

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailersend import MailerSendTrackingWebhookView
from anymail.webhooks.mailjet import MailjetTrackingWebhookView
from anymail.webhooks.mandrill import MandrillCombinedWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.resend import ResendTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from anymail.webhooks.sparkpost import SparkPostTrackingWebhookView
from django.urls import clear_url_caches
from django.utils import timezone

import cxplatform.urls
from surveys.launch import survey_launch
from surveys.models import InvitationState, SuppressedAddress
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

ADDRESS = "full@customer.example.com"
SECRET = "postmark:s3cret-webhook-password"


@pytest.fixture
def webhooks(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    clear_url_caches()
    importlib.reload(cxplatform.urls)
    yield
    clear_url_caches()
    importlib.reload(cxplatform.urls)


def test_a_soft_bounce_marks_the_invitation_bounced_and_the_customer_is_invited_again(client, webhooks):
    customer = CustomerFactory(email=ADDRESS)
    invitation = InvitationFactory(customer=customer, message_id="883953f4-6105-42a2-a16a-77a8eac79483")
    soft_bounce = {
        "RecordType": "Bounce", "Type": "SoftBounce", "TypeCode": 4096, "Email": ADDRESS,
        "MessageID": invitation.message_id, "BouncedAt": "2026-11-29T10:00:00Z",
        "Description": "Unable to temporarily deliver this message.", "Details": "452 4.2.2 Mailbox full",
        "Inactive": False, "CanActivate": True,
    }
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()

    response = client.post(
        "/webhooks/anymail/postmark/tracking/", soft_bounce, content_type="application/json", HTTP_AUTHORIZATION=auth
    )

    assert response.status_code == 200
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED  # this email did not arrive
    assert not SuppressedAddress.objects.exists()
    launch = survey_launch(survey=SurveyFactory(throttle_days=0))
    assert launch.invitations.get(customer=customer).suppression_reason == ""


def bare(view):
    """The view's parser alone: no signing keys or requests needed to turn a payload into events."""
    return view.__new__(view)


def postmark(kind):
    payload = {"RecordType": "Bounce", "Type": kind, "Email": ADDRESS, "BouncedAt": "2026-11-29T10:00:00Z"}
    return bare(PostmarkTrackingWebhookView).esp_to_anymail_event(payload)


def ses(bounce_type, diagnostic):
    bounce = {"bounceType": bounce_type, "bounceSubType": "General",
              "bouncedRecipients": [{"emailAddress": ADDRESS, "diagnosticCode": diagnostic}]}
    payload = {"eventType": "Bounce", "mail": {"messageId": "ses-1", "destination": [ADDRESS]}, "bounce": bounce}
    return bare(AmazonSESTrackingWebhookView).esp_to_anymail_events(payload, {"MessageId": "sns-1"})[0]


def sparkpost(bounce_class, reason):
    event = {"type": "bounce", "bounce_class": bounce_class, "raw_rcpt_to": ADDRESS, "raw_reason": reason}
    view = bare(SparkPostTrackingWebhookView)
    return view.esp_to_anymail_event("message_event", event, {"msys": {"message_event": event}})


def mandrill(event):
    payload = {"event": event, "msg": {"email": ADDRESS}}
    return bare(MandrillCombinedWebhookView).mandrill_tracking_to_anymail_event(payload)


def brevo(event):
    return bare(BrevoTrackingWebhookView).esp_to_anymail_event({"event": event, "email": ADDRESS})


def mailersend(kind):
    payload = {"data": {"type": kind, "email": {"recipient": {"email": ADDRESS}}}}
    return bare(MailerSendTrackingWebhookView).esp_to_anymail_event(payload)


def mailjet(hard):
    payload = {"event": "bounce", "email": ADDRESS, "hard_bounce": hard, "error": "user unknown"}
    return bare(MailjetTrackingWebhookView).esp_to_anymail_event(payload)


def sendgrid(kind, reason):
    return bare(SendGridTrackingWebhookView).esp_to_anymail_event(
        {"event": "bounce", "email": ADDRESS, "type": kind, "reason": reason}
    )


def resend(kind):
    class Request:
        headers: dict = {}

    payload = {"type": "email.bounced", "data": {"to": [ADDRESS], "bounce": {"type": kind, "message": "bounced"}}}
    return bare(ResendTrackingWebhookView).esp_to_anymail_event(payload, Request())


@pytest.mark.parametrize(
    "esp_name, make_event, permanent",
    [
        pytest.param("Postmark", lambda: postmark("HardBounce"), True, id="postmark-hard"),
        pytest.param("Postmark", lambda: postmark("BadEmailAddress"), True, id="postmark-invalid-address"),
        pytest.param("Postmark", lambda: postmark("SoftBounce"), False, id="postmark-soft"),
        pytest.param("Postmark", lambda: postmark("Blocked"), False, id="postmark-blocked-by-the-isp"),
        pytest.param("Amazon SES", lambda: ses("Permanent", "smtp; 550 5.1.1 user unknown"), True, id="ses-permanent"),
        # SES's own verdict decides, even where the reply code alone would say permanent.
        pytest.param("Amazon SES", lambda: ses("Transient", "smtp; 552 5.2.2 over quota"), False, id="ses-transient"),
        pytest.param("Amazon SES", lambda: ses("Undetermined", None), False, id="ses-undetermined"),
        pytest.param("SparkPost", lambda: sparkpost("10", "550 5.1.1 user unknown"), True, id="sparkpost-invalid"),
        pytest.param("SparkPost", lambda: sparkpost("22", "552 5.2.2 mailbox full"), False, id="sparkpost-full"),
        pytest.param(
            "SparkPost", lambda: sparkpost("24", "554 5.4.7 [internal] message timeout (last transfail: 454 4.4.4)"),
            False, id="sparkpost-timeout",
        ),
        pytest.param("Mandrill", lambda: mandrill("hard_bounce"), True, id="mandrill-hard"),
        pytest.param("Mandrill", lambda: mandrill("soft_bounce"), False, id="mandrill-soft"),
        pytest.param("Brevo", lambda: brevo("hard_bounce"), True, id="brevo-hard"),
        pytest.param("Brevo", lambda: brevo("soft_bounce"), False, id="brevo-soft"),
        pytest.param("MailerSend", lambda: mailersend("hard_bounced"), True, id="mailersend-hard"),
        pytest.param("MailerSend", lambda: mailersend("soft_bounced"), False, id="mailersend-soft"),
        pytest.param("Mailjet", lambda: mailjet(True), True, id="mailjet-hard"),
        pytest.param("Mailjet", lambda: mailjet(False), False, id="mailjet-soft"),
        pytest.param("SendGrid", lambda: sendgrid("bounce", "550 5.1.1 user unknown"), True, id="sendgrid-bounce"),
        pytest.param("SendGrid", lambda: sendgrid("blocked", "550 5.7.1 try later"), False, id="sendgrid-blocked"),
        pytest.param("Resend", lambda: resend("Permanent"), True, id="resend-permanent"),
        pytest.param("Resend", lambda: resend("Transient"), False, id="resend-transient"),
    ],
)
def test_the_providers_own_verdict_decides_whether_the_address_is_suppressed(esp_name, make_event, permanent):
    event = make_event()
    assert event.event_type in ("bounced", "rejected") and event.recipient == ADDRESS

    tracking.send(sender=object, event=event, esp_name=esp_name)

    assert SuppressedAddress.objects.filter(email=ADDRESS).exists() is permanent


def other_provider_bounce(*, esp_name="TestESP", esp_event=None, **fields):
    event = AnymailTrackingEvent(
        event_type=fields.pop("event_type", "bounced"), timestamp=timezone.now(), recipient=ADDRESS,
        esp_event=esp_event, **fields,
    )
    tracking.send(sender=object, event=event, esp_name=esp_name)
    return SuppressedAddress.objects.filter(email=ADDRESS).exists()


@pytest.mark.parametrize(
    "fields, permanent",
    [
        pytest.param({"description": "550 5.1.1 no such user"}, True, id="5xx"),
        pytest.param({"mta_response": "452 4.2.2 Mailbox full", "reject_reason": "bounced"}, False, id="4xx"),
        pytest.param({"mta_response": "smtp; 421 4.7.0 try again later"}, False, id="4xx-after-a-prefix"),
        # An IP address in the text is no reply code (4.5.6 would read as temporary).
        pytest.param({"mta_response": "host 10.4.5.6 said: 550 5.1.1 unknown user"}, True, id="ip-address"),
        pytest.param({"reject_reason": "timed_out"}, False, id="gave-up-retrying"),
        pytest.param({"reject_reason": "blocked", "event_type": "rejected"}, False, id="policy"),
        pytest.param({"reject_reason": "invalid", "mta_response": "450 4.1.2 try later"}, True, id="invalid-address"),
        pytest.param({"description": "mailbox unavailable"}, True, id="no-sign-of-a-temporary-failure"),
    ],
)
def test_another_provider_is_read_by_anymails_normalised_fields(fields, permanent):
    assert other_provider_bounce(**fields) is permanent


def test_a_known_provider_event_without_its_field_is_read_as_another_providers():
    assert other_provider_bounce(esp_name="Postmark", esp_event={}, mta_response="452 4.2.2 Mailbox full") is False
    assert other_provider_bounce(esp_name="Postmark", esp_event={}, mta_response="550 5.1.1 unknown") is True
