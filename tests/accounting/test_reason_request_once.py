"""Staff asking a customer why they chose us: one link while it is open (SPEC §2, asked once), a
new one once it expired or was answered; and each link works through the day its email names."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounting.models import ReasonRequest
from accounting.services import reason_request_create
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def ask(client_as, django_capture_on_commit_callbacks):
    """Press "send reason request" on the customer's page, with the email task run inline."""
    client = client_as("analyst")

    def press(customer):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("accounting:customer-reason-request", args=[customer.pk]))
        return [str(m) for m in get_messages(response.wsgi_request)][-1]  # this press's message

    return press


def test_a_second_press_while_the_link_is_open_emails_nothing_and_says_so(ask, mailoutbox):
    """The button clicked twice (or a POST retried by the browser) used to email two links."""
    customer = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        ask(customer)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        said = ask(customer)

    assert ReasonRequest.objects.filter(customer=customer).count() == 1
    assert len(mailoutbox) == 1
    # ISO dates, as the customer page right under the message shows them.
    assert said == (
        "The “why did you choose us?” link sent on 2026-01-10 is still open"
        " (it works until 2026-02-09): no new email was sent."
    )


def test_a_link_never_sent_counts_as_open(ask, mailoutbox):
    """Its email may still be on its way; the daily run sends it if not (test_reason_resend)."""
    customer = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        reason_request_create(customer=customer)  # its on-commit task is not run here
        said = ask(customer)

    assert ReasonRequest.objects.filter(customer=customer).count() == 1
    assert mailoutbox == []
    # Not "sent on": its email has not gone out yet.
    assert said == (
        "The “why did you choose us?” link made on 2026-01-10 is still open"
        " (it works until 2026-02-09): no new email was sent."
    )


@pytest.mark.parametrize("closed", ["expired", "answered"])
def test_a_new_link_goes_out_once_the_last_one_is_closed(ask, mailoutbox, closed):
    customer = CustomerFactory()
    with time_machine.travel(NOW, tick=False):
        ask(customer)
    first = ReasonRequest.objects.get(customer=customer)
    if closed == "answered":
        ReasonRequest.objects.filter(pk=first.pk).update(answered_at=NOW + dt.timedelta(days=1))
        later = NOW + dt.timedelta(days=2)
    else:
        later = first.expires_at

    with time_machine.travel(later, tick=False):
        said = ask(customer)

    assert ReasonRequest.objects.filter(customer=customer).count() == 2
    assert len(mailoutbox) == 2
    assert "on its way" in said


def test_a_link_works_through_the_day_its_email_names(client, mailoutbox, django_capture_on_commit_callbacks):
    """It used to expire at the time of day it was made, partway through the day its email names."""
    made = dt.datetime(2025, 3, 1, 14, 0, tzinfo=PARIS)
    with override_settings(TIME_ZONE="Europe/Paris"), timezone.override(PARIS):
        customer = CustomerFactory(language="en")
        with time_machine.travel(made, tick=False), django_capture_on_commit_callbacks(execute=True):
            issued = reason_request_create(customer=customer)

        named = re.search(r"works until (.+?)\.\n", mailoutbox[0].body).group(1)
        html_named = re.search(r"works until (.+?)\.<", mailoutbox[0].alternatives[0][0]).group(1)
        with time_machine.travel(dt.datetime(2025, 3, 31, 23, 59, 59, tzinfo=PARIS), tick=False):
            late_that_day = client.get(f"/why/{issued.token}/")
        with time_machine.travel(dt.datetime(2025, 4, 1, 0, 0, tzinfo=PARIS), tick=False):
            next_day = client.get(f"/why/{issued.token}/")

    assert named == html_named == "March 31, 2025"
    assert issued.request.last_day == dt.date(2025, 3, 31)  # the staff page's "works until"
    assert issued.request.expires_at == dt.datetime(2025, 4, 1, 0, 0, tzinfo=PARIS)
    assert late_that_day.status_code == 200
    assert next_day.status_code == 410


def test_a_link_made_late_in_the_evening_counts_its_days_in_the_companys_zone():
    """23:30 in Paris on 1 March is still 1 March there (22:30 UTC): 30 days later is 31 March."""
    with override_settings(TIME_ZONE="Europe/Paris"):
        with time_machine.travel(dt.datetime(2025, 3, 1, 23, 30, tzinfo=PARIS), tick=False):
            request = reason_request_create(customer=CustomerFactory()).request

        assert request.last_day == dt.date(2025, 3, 31)
    assert request.expires_at == dt.datetime(2025, 4, 1, 0, 0, tzinfo=PARIS)
