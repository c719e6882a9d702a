"""An address on an internationalised domain goes out with its domain in punycode (Django's
sanitize_address), so the provider's bounce names jo@xn--bcher-kva.de while the customer's address
is jo@bücher.de: the suppressed list keeps the Unicode form and the punycode one, and every check
(launch, sending, reminders, reason emails, the admin) finds the address in either form."""

import datetime as dt
import importlib

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.apps import apps
from django.core import mail
from django.core.mail.message import sanitize_address
from django.urls import reverse
from django.utils import timezone

from accounting.services import address_suppressed
from accounting.tasks import send_reason_requests_to_new_customers
from surveys import sending
from surveys.emails import invitation_message
from surveys.launch import survey_launch
from surveys.models import InvitationState, SuppressedAddress
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

UNICODE, PUNYCODE = "jo@bücher.de", "jo@xn--bcher-kva.de"


def bounce(recipient):
    event = AnymailTrackingEvent(
        event_type="bounced", timestamp=timezone.now(), recipient=recipient, description="550 5.1.1 no such user"
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")


def test_a_bounce_of_the_address_as_sent_suppresses_the_customers_unicode_address_at_the_next_launch():
    customer = CustomerFactory(email=UNICODE)
    invitation = InvitationFactory(customer=customer, email=customer.email)
    sent_to = sanitize_address(invitation_message(invitation).to[0], "utf-8")  # as SMTP sends it
    assert sent_to == PUNYCODE

    bounce(sent_to)

    launch = survey_launch(survey=SurveyFactory(throttle_days=0))
    assert launch.invitations.get(customer=customer).suppression_reason == "bounced_before"


def test_the_suppressed_address_is_kept_readable_with_the_form_it_was_sent_in():
    bounce("Jo@XN--BCHER-KVA.de")

    entry = SuppressedAddress.objects.get()
    assert (entry.email, entry.email_ascii) == (UNICODE, PUNYCODE)


@pytest.mark.parametrize("stored", [PUNYCODE, "Jo@XN--Bcher-kva.DE"])
def test_a_customer_address_stored_in_punycode_is_suppressed_too(stored):
    customer = CustomerFactory(email=stored)
    SuppressedAddress.objects.create(email=UNICODE, kind="bounced")  # an admin typed it

    launch = survey_launch(survey=SurveyFactory(throttle_days=0))

    assert launch.invitations.get(customer=customer).suppression_reason == "bounced_before"
    assert address_suppressed(stored)


def test_malformed_punycode_is_kept_as_given():
    bounce("jo@xn--zz.de")

    entry = SuppressedAddress.objects.get()
    assert (entry.email, entry.email_ascii) == ("jo@xn--zz.de", None)


def test_an_ascii_address_has_no_second_form_and_a_customer_without_an_address_matches_nothing():
    bounce("Gone@Example.com")

    assert SuppressedAddress.objects.get().email_ascii is None
    assert not SuppressedAddress.objects.of_address("").exists()


def test_a_queued_invitation_whose_address_bounced_as_sent_since_is_not_emailed(settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    queued = InvitationFactory(
        state=InvitationState.QUEUED, sent_at=None, expires_at=None, customer=CustomerFactory(email=UNICODE)
    )
    bounce(PUNYCODE)

    sending.send_batch()

    queued.refresh_from_db()
    assert (queued.state, queued.suppression_reason) == ("suppressed", "bounced_before")
    assert mail.outbox == []


def test_no_reminder_goes_to_an_address_that_bounced_as_sent():
    survey = SurveyFactory(reminder_days=1)
    earlier = timezone.now() - dt.timedelta(days=2)
    InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory(email=UNICODE))
    bounce(PUNYCODE)

    assert not sending.reminders_due().exists()


def test_no_reason_email_goes_to_an_address_that_bounced_as_sent(django_capture_on_commit_callbacks):
    CustomerFactory(email=UNICODE, acquired_on=timezone.localdate() - dt.timedelta(days=3))
    bounce(PUNYCODE)

    with django_capture_on_commit_callbacks(execute=True):
        send_reason_requests_to_new_customers(days=30)

    assert address_suppressed(UNICODE)
    assert mail.outbox == []


def test_the_admin_refuses_the_punycode_form_of_a_listed_address_as_a_duplicate(client, admin):
    SuppressedAddress.objects.create(email=UNICODE, kind="bounced")
    client.force_login(admin)

    response = client.post(
        reverse("admin:surveys_suppressedaddress_add"),
        {"email": PUNYCODE, "kind": "complained", "detail": "",
         "created_at_0": "2026-01-01", "created_at_1": "10:00:00"},
    )

    assert response.status_code == 200
    assert f"{UNICODE} is already suppressed (bounced)" in response.content.decode()
    assert SuppressedAddress.objects.count() == 1


def test_the_migration_rewrites_entries_stored_in_punycode_and_drops_their_duplicates():
    migration = importlib.import_module("surveys.migrations.0015_suppressed_address_idn_forms")
    as_bounced = SuppressedAddress.objects.create(email="ann@example.com", kind="bounced")
    twice = SuppressedAddress.objects.create(email="bo@bücher.de", kind="complained")
    SuppressedAddress.objects.create(email="x@y.de", kind="bounced")
    # As stored before: lower-cased only, no second form.
    SuppressedAddress.objects.filter(pk=as_bounced.pk).update(email=PUNYCODE)
    SuppressedAddress.objects.filter(pk=twice.pk).update(email_ascii=None)
    SuppressedAddress.objects.filter(email="x@y.de").update(email="bo@xn--bcher-kva.de")

    migration.entries_normalize(apps, None)

    assert sorted(SuppressedAddress.objects.values_list("email", "email_ascii", "kind")) == [
        ("bo@bücher.de", "bo@xn--bcher-kva.de", "complained"),
        (UNICODE, PUNYCODE, "bounced"),
    ]
