"""The claim's address and expiry (surveys/sending.py): reminders do not store the address they go to
(an anonymous survey's rows would differ by it), and a refused resend keeps the link's expiry."""

import datetime as dt
import smtplib

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounting.models import Customer
from surveys import sending, tasks
from surveys.launch import survey_retry_failed
from surveys.models import InvitationState, Response
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory
from tests.surveys.test_sending import FAILURES, scripted_backend  # noqa: F401 - the scripted email backend

pytestmark = pytest.mark.django_db


def test_an_anonymous_surveys_reminders_leave_the_email_column_as_it_was():
    """An anonymous survey hides what tells responders from non-responders (reminder_* in the admin,
    the API). The reminder claim rewrote `email` on the rows it reminds (non-responders only), so
    after an address change the admin's email column (and its email search) set them apart."""
    survey = SurveyFactory(anonymous=True, reminder_days=1, expiry_days=30)
    earlier = timezone.now() - dt.timedelta(days=2)
    answered = InvitationFactory(
        survey=survey, sent_at=earlier, state=InvitationState.RESPONDED, responded_at=earlier,
        customer=CustomerFactory(email="a.old@example.com"),
    )
    silent = InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory(email="b.old@example.com"))
    Customer.objects.filter(pk=answered.customer_id).update(email="a.new@example.com")
    Customer.objects.filter(pk=silent.customer_id).update(email="b.new@example.com")

    tasks.send_reminders()
    assert [m.to for m in mail.outbox] == [["b.new@example.com"]]

    answered.refresh_from_db()
    silent.refresh_from_db()
    # Both rows should keep the address their first email went to, alike.
    assert (answered.email, silent.email) == ("a.old@example.com", "b.old@example.com")


def test_a_retried_interrupted_row_refused_at_resend_keeps_its_link_expiry(client):
    """An interrupted row (its first email maybe delivered) retried by name and then refused by the
    SMTP server: _mark_error cleared expires_at ("no link went out"), but the first link may have
    gone out, and never expired - what surveys 0018 set out to end."""
    survey = SurveyFactory(expiry_days=10)
    claimed_at = timezone.now() - dt.timedelta(hours=1)
    row = InvitationFactory(
        survey=survey, state=InvitationState.FAILED, last_error=sending.INTERRUPTED, sent_at=None,
        claimed_at=claimed_at, expires_at=sending.days_later(claimed_at, 10), attempts=0,
    )
    assert survey_retry_failed(survey=survey, include_interrupted=True).queued == 1
    FAILURES.append(smtplib.SMTPRecipientsRefused({row.email: (550, b"no such user")}))

    sending.send_batch()
    row.refresh_from_db()
    assert row.state == InvitationState.FAILED

    with time_machine.travel(timezone.now() + dt.timedelta(days=200)):
        posted = client.post(f"/s/{row.token}/", {"score": 3})
    assert posted.status_code == 410
    assert not Response.objects.filter(invitation=row).exists()
