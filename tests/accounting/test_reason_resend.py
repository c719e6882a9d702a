"""A "why did you choose us?" request that never went out is sent by a later daily run, once."""

import datetime as dt
import smtplib
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounting.models import Customer, ReasonRequest
from accounting.services import reason_request_create, reason_request_find
from accounting.tasks import send_reason_request, send_reason_requests_to_new_customers
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
TOMORROW = NOW + dt.timedelta(days=1)


@pytest.fixture
def daily_run(django_capture_on_commit_callbacks):
    """The daily beat task, with the email tasks it queues run inline."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return send_reason_requests_to_new_customers(days=30)

    return run


def broker_outage():
    return mock.patch(
        "accounting.tasks.send_reason_request.apply_async", side_effect=ConnectionRefusedError("broker down")
    )


@pytest.fixture
def broker_down():
    with broker_outage() as publish:
        yield publish


def smtp_down():
    return mock.patch.object(
        EmailMultiAlternatives, "send", side_effect=smtplib.SMTPServerDisconnected("down")
    )


def unsent_request(**customer_fields) -> ReasonRequest:
    """A request whose email task never ran (lost with the broker, or given up)."""
    return reason_request_create(customer=CustomerFactory(**customer_fields)).request


def customer_of(request: ReasonRequest):
    return Customer.objects.filter(pk=request.customer_id)


def token_in(message) -> str:
    return message.body.split("/why/")[1].split("/")[0]


def test_a_customer_asked_during_an_smtp_outage_is_emailed_by_the_next_run(daily_run, eager_retries):
    with time_machine.travel(NOW, tick=False):
        customer = CustomerFactory(acquired_on=NOW.date())
        with smtp_down():
            daily_run()
        assert ReasonRequest.objects.get(customer=customer).sent_at is None

    with time_machine.travel(TOMORROW, tick=False):
        daily_run()

    [message] = mail.outbox
    assert message.to == [customer.email]
    request = ReasonRequest.objects.get(customer=customer)  # no second request
    assert request.sent_at is not None
    assert reason_request_find(token_in(message)) == request  # the emailed link opens it


def test_later_runs_do_not_email_a_resent_request_again(daily_run):
    with time_machine.travel(NOW, tick=False):
        unsent_request()
    with time_machine.travel(TOMORROW, tick=False):
        daily_run()
        daily_run()
    with time_machine.travel(TOMORROW + dt.timedelta(days=1), tick=False):
        daily_run()

    assert len(mail.outbox) == 1


def test_a_late_message_with_the_old_token_sends_nothing(daily_run, broker_down):
    with time_machine.travel(NOW, tick=False):
        issued = reason_request_create(customer=CustomerFactory())
    with time_machine.travel(TOMORROW, tick=False):
        daily_run()  # gives the request a new token; the broker is still down
        [call] = broker_down.call_args_list
        _, new_token = call.args[0]

        assert send_reason_request(issued.request.pk, issued.token) == "skipped: superseded"
        assert mail.outbox == []
        assert reason_request_find(issued.token) is None

        assert send_reason_request(issued.request.pk, new_token) == "sent"
        assert send_reason_request(issued.request.pk, issued.token) == "skipped: already sent"
    assert len(mail.outbox) == 1


def test_the_staff_page_survives_a_broker_outage_and_the_next_run_sends_the_email(
    client_as, daily_run, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    client = client_as("analyst")

    with time_machine.travel(NOW, tick=False), broker_outage(), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/customers/{customer.pk}/reason-request/")

    assert response.status_code == 302
    request = ReasonRequest.objects.get(customer=customer)
    assert request.sent_at is None
    assert mail.outbox == []

    with time_machine.travel(TOMORROW, tick=False):
        daily_run()

    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert ReasonRequest.objects.get(customer=customer).sent_at is not None


def test_the_daily_run_survives_a_broker_outage(broker_down, daily_run):
    with time_machine.travel(NOW, tick=False):
        customers = CustomerFactory.create_batch(2, acquired_on=NOW.date())
        assert daily_run() == 2

    assert ReasonRequest.objects.filter(customer__in=customers, sent_at__isnull=True).count() == 2


def test_a_request_is_not_resent_while_its_own_task_may_still_be_running(daily_run):
    with time_machine.travel(NOW, tick=False):
        unsent_request()
    with time_machine.travel(NOW + dt.timedelta(minutes=45), tick=False):
        daily_run()

    assert mail.outbox == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: ReasonRequest.objects.filter(pk=r.pk).update(answered_at=NOW), id="answered"),
        pytest.param(lambda r: ReasonRequest.objects.filter(pk=r.pk).update(expires_at=NOW), id="expired"),
        pytest.param(lambda r: customer_of(r).update(survey_opt_out=True), id="opted out"),
        pytest.param(lambda r: customer_of(r).update(email=""), id="no email"),
        pytest.param(lambda r: customer_of(r).update(reason=reason("advertising")), id="reason known meanwhile"),
    ],
)
def test_it_does_not_resend_a_request_that_no_longer_needs_sending(daily_run, change):
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        request = unsent_request(acquired_on=dt.date(2024, 1, 1))
    change(request)

    with time_machine.travel(NOW + dt.timedelta(hours=3), tick=False):
        daily_run()

    assert mail.outbox == []


def test_it_resends_what_a_person_asked_for_even_when_the_reason_is_known(daily_run, analyst):
    customer = CustomerFactory(reason=reason("advertising"))
    with time_machine.travel(NOW, tick=False):
        reason_request_create(customer=customer, user=analyst)
    with time_machine.travel(TOMORROW, tick=False):
        daily_run()

    assert [m.to for m in mail.outbox] == [[customer.email]]


def test_only_the_latest_unsent_request_of_a_customer_is_resent(daily_run):
    customer = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        first = reason_request_create(customer=customer).request
        latest = reason_request_create(customer=customer).request
    with time_machine.travel(TOMORROW, tick=False):
        daily_run()

    assert len(mail.outbox) == 1
    assert ReasonRequest.objects.get(pk=first.pk).sent_at is None
    assert ReasonRequest.objects.get(pk=latest.pk).sent_at is not None


def test_a_resent_request_keeps_its_expiry(daily_run):
    with time_machine.travel(NOW, tick=False):
        request = unsent_request()
    with time_machine.travel(TOMORROW, tick=False):
        daily_run()

    assert ReasonRequest.objects.get(pk=request.pk).expires_at == request.expires_at
    assert timezone.is_aware(request.expires_at)
