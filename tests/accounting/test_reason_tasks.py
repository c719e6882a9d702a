"""The emailed "why did you choose us?" request: token, email, sending once, asking in batch."""

import base64
import datetime as dt
import hashlib
import smtplib
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.utils import timezone

from accounting.models import ReasonRequest
from accounting.services import reason_request_create
from accounting.tasks import (
    is_transient,
    send_reason_request,
    send_reason_requests_to_new_customers,
)
from tests.factories import CustomerFactory, reason

NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def issue(db, django_capture_on_commit_callbacks):
    """Issue a request the way the app does, running the on-commit email task."""

    def make(**customer_fields):
        customer = CustomerFactory(**customer_fields)
        with django_capture_on_commit_callbacks(execute=True):
            issued = reason_request_create(customer=customer)
        return issued

    return make


@pytest.fixture
def retries_run_inline():
    """Let eager Celery replay retries in-process instead of raising `Retry` to the test."""
    from cxplatform.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def html_part(message):
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def test_the_token_has_at_least_128_bits_and_only_its_hash_is_stored(issue):
    issued = issue()

    raw = base64.urlsafe_b64decode(issued.token + "=" * (-len(issued.token) % 4))
    assert len(raw) * 8 >= 128
    row = ReasonRequest.objects.get(pk=issued.request.pk)
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    stored = [str(getattr(row, field.attname)) for field in ReasonRequest._meta.concrete_fields]
    assert not any(issued.token in value for value in stored)


def test_two_requests_get_different_tokens(issue):
    assert issue().token != issue().token


def test_it_emails_the_link_with_a_text_and_an_html_part(issue, settings):
    settings.SITE_URL = "https://cx.example.com"
    issued = issue(email="ann@customer.example.com", name="Ann O'Neil")

    [message] = mail.outbox
    url = f"https://cx.example.com/why/{issued.token}/"
    assert message.to == ["ann@customer.example.com"]
    assert "\n" not in message.subject
    assert "What is the primary reason you chose us?" in message.body
    assert url in message.body
    assert "Ann O'Neil" in message.body  # the text part is not HTML-escaped
    html = html_part(message)
    assert f'href="{url}"' in html
    assert "What is the primary reason you chose us?" in html
    assert "Ann O&#x27;Neil" in html


def test_it_marks_the_request_sent(issue):
    issued = issue()

    assert ReasonRequest.objects.get(pk=issued.request.pk).sent_at is not None


@time_machine.travel(NOW, tick=False)
def test_it_writes_to_a_french_customer_in_french(issue):
    issued = issue(language="fr")

    [message] = mail.outbox
    html = html_part(message)
    assert '<html lang="fr">' in html
    assert f"/why/{issued.token}/" in message.body
    # The expiry date comes from Django's own French catalogue, whatever ours holds.
    assert "février 2026" in message.body
    assert "février 2026" in html


@time_machine.travel(NOW, tick=False)
def test_it_writes_to_an_english_customer_in_english(issue):
    issue(language="en")

    [message] = mail.outbox
    assert '<html lang="en">' in html_part(message)
    assert "Feb. 9, 2026" in message.body


def test_running_the_task_twice_sends_one_email(issue):
    issued = issue()

    result = send_reason_request.delay(issued.request.pk, issued.token)

    assert result.get() == "skipped: already sent"
    assert len(mail.outbox) == 1


def test_it_does_not_send_a_request_that_is_already_answered(db):
    customer = CustomerFactory()
    issued = reason_request_create(customer=customer)  # on-commit task not run
    ReasonRequest.objects.filter(pk=issued.request.pk).update(answered_at=timezone.now())

    assert send_reason_request(issued.request.pk, issued.token) == "skipped: answered"
    assert mail.outbox == []


def test_it_does_not_send_an_expired_request(db):
    issued = reason_request_create(customer=CustomerFactory())
    ReasonRequest.objects.filter(pk=issued.request.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    assert send_reason_request(issued.request.pk, issued.token) == "skipped: expired"
    assert mail.outbox == []


def test_it_refuses_to_ask_a_customer_who_opted_out(db):
    with pytest.raises(ValidationError, match="opted out"):
        reason_request_create(customer=CustomerFactory(survey_opt_out=True))


def test_it_does_not_send_to_a_customer_who_opted_out_after_the_request(db):
    customer = CustomerFactory()
    issued = reason_request_create(customer=customer)
    mail.outbox.clear()
    customer.survey_opt_out = True
    customer.save(update_fields=["survey_opt_out"])

    assert send_reason_request(issued.request.pk, issued.token) == "skipped: opted out"
    assert mail.outbox == []


def test_it_skips_a_request_that_was_deleted(db):
    assert send_reason_request(987654, "whatever") == "skipped: gone"


def test_a_transient_smtp_error_is_retried_and_the_email_sent_once(db, retries_run_inline):
    issued = reason_request_create(customer=CustomerFactory())
    real_send = EmailMultiAlternatives.send
    attempts = []

    def flaky_send(message, *args, **kwargs):
        attempts.append(1)
        if len(attempts) < 3:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_send(message, *args, **kwargs)

    with mock.patch.object(EmailMultiAlternatives, "send", flaky_send):
        result = send_reason_request.apply(args=(issued.request.pk, issued.token))

    assert result.get() == "sent"
    assert len(attempts) == 3
    assert len(mail.outbox) == 1
    assert ReasonRequest.objects.get(pk=issued.request.pk).sent_at is not None


def test_it_gives_up_after_five_retries_and_leaves_the_request_unsent(db, retries_run_inline):
    issued = reason_request_create(customer=CustomerFactory())
    failing = mock.Mock(side_effect=ConnectionRefusedError("no SMTP server"))

    with mock.patch.object(EmailMultiAlternatives, "send", failing):
        result = send_reason_request.apply(args=(issued.request.pk, issued.token))

    assert result.failed()
    assert failing.call_count == 6  # the first attempt and five retries
    assert ReasonRequest.objects.get(pk=issued.request.pk).sent_at is None


def test_a_permanent_smtp_error_is_not_retried_and_gives_the_claim_back(db, retries_run_inline):
    issued = reason_request_create(customer=CustomerFactory())
    refused = smtplib.SMTPRecipientsRefused({"x@customer.example.com": (550, b"No such user")})
    failing = mock.Mock(side_effect=refused)

    with mock.patch.object(EmailMultiAlternatives, "send", failing):
        result = send_reason_request.apply(args=(issued.request.pk, issued.token))

    assert result.failed()
    assert failing.call_count == 1
    assert ReasonRequest.objects.get(pk=issued.request.pk).sent_at is None


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (smtplib.SMTPServerDisconnected("closed"), True),
        (smtplib.SMTPConnectError(421, b"busy"), True),
        (smtplib.SMTPDataError(451, b"try again later"), True),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPRecipientsRefused({"a@x.example": (450, b"greylisted")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x.example": (550, b"unknown")}), False),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (ValueError("bad template"), False),
    ],
)
def test_only_transient_errors_are_retried(exc, transient):
    assert is_transient(exc) is transient


@time_machine.travel(NOW, tick=False)
def test_it_asks_each_new_customer_once(db, django_capture_on_commit_callbacks):
    today = NOW.date()
    new = CustomerFactory(acquired_on=today - dt.timedelta(days=3))
    new_today = CustomerFactory(acquired_on=today)
    CustomerFactory(acquired_on=today - dt.timedelta(days=31))  # not new
    CustomerFactory(acquired_on=today - dt.timedelta(days=3), email="")  # cannot be reached
    CustomerFactory(acquired_on=today - dt.timedelta(days=3), reason=reason("advertising"))
    CustomerFactory(acquired_on=today - dt.timedelta(days=3), survey_opt_out=True)
    CustomerFactory(acquired_on=None)
    already_asked = CustomerFactory(acquired_on=today - dt.timedelta(days=3))
    reason_request_create(customer=already_asked)  # its email task is not run here

    with django_capture_on_commit_callbacks(execute=True):
        first = send_reason_requests_to_new_customers(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        second = send_reason_requests_to_new_customers(days=30)

    assert (first, second) == (2, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([new.email, new_today.email])
    assert ReasonRequest.objects.filter(customer=new).count() == 1
    assert ReasonRequest.objects.filter(customer=already_asked).count() == 1


@time_machine.travel(NOW, tick=False)
def test_the_window_of_new_customers_follows_days(db):
    CustomerFactory(acquired_on=NOW.date() - dt.timedelta(days=10))

    assert send_reason_requests_to_new_customers(days=7) == 0
    assert send_reason_requests_to_new_customers(days=10) == 1


@time_machine.travel(NOW, tick=False)
def test_the_command_says_how_many_customers_it_asked(db, django_capture_on_commit_callbacks):
    CustomerFactory(acquired_on=NOW.date() - dt.timedelta(days=1))
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reason_requests", "--days", "30", stdout=out)

    assert out.getvalue().strip() == "Asked 1 new customer why they chose us."
    assert len(mail.outbox) == 1


def test_the_command_refuses_a_window_below_one_day(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--days"):
        call_command("send_reason_requests", "--days", "0")


@time_machine.travel(NOW, tick=False)
def test_a_customer_opted_out_during_the_run_is_skipped_and_the_rest_asked(db, django_capture_on_commit_callbacks):
    """The run lists the new customers, then asks each under its row lock: one who opted out in
    between is refused by reason_request_create, which must not stop the others being asked."""
    from accounting import tasks

    first, second = (CustomerFactory(acquired_on=NOW.date()) for _ in range(2))
    listed = tasks.customers_to_ask

    def listed_then_opted_out(days):
        customers = listed(days=days)
        list(customers)  # listed before the opt-out, as a run already underway had them
        type(first).objects.filter(pk=first.pk).update(survey_opt_out=True)
        return customers.model.objects.filter(pk__in=[first.pk, second.pk]).order_by("pk")

    with mock.patch.object(tasks, "customers_to_ask", listed_then_opted_out), \
            django_capture_on_commit_callbacks(execute=True):
        asked = send_reason_requests_to_new_customers(days=30)

    assert asked == 1
    assert [m.to[0] for m in mail.outbox] == [second.email]
    assert not ReasonRequest.objects.filter(customer=first).exists()
