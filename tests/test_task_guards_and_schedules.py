"""Background work (SPEC §6, §4, §2): the reason-request tasks, the reminder chain, the response
import's every-error rule and the beat schedules following TIME_ZONE. Each test pins a behaviour a
mutation audit found no test for."""

import datetime as dt
import smtplib
from io import StringIO
from unittest import mock

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounting import tasks as accounting_tasks
from accounting.models import ReasonRequest
from accounting.services import reason_request_create
from accounting.tasks import RETRY_BASE_SECONDS, send_reason_request, send_reason_requests_to_new_customers
from cxplatform.models import ScheduleTimeZone
from cxplatform.schedules import schedules_follow_time_zone
from surveys import sending
from surveys import tasks as survey_tasks
from surveys.models import Invitation, SuppressedAddress
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


# --- reason requests ---------------------------------------------------------------------------


def test_a_request_to_an_address_that_bounced_since_is_not_sent():
    """The address bounced after the link was made: the queued task sends nothing (SPEC §4: an
    address that bounced before gets no more email) and leaves the request unsent."""
    issued = reason_request_create(customer=CustomerFactory(email="jo@customer.example"))
    SuppressedAddress.objects.create(email="jo@customer.example", kind="bounced")

    assert send_reason_request(issued.request.pk, issued.token) == "skipped: address suppressed"
    assert mail.outbox == []
    assert ReasonRequest.objects.get(pk=issued.request.pk).sent_at is None


@pytest.mark.parametrize(("retries", "countdown"), [(0, 60), (2, 240), (4, 960)])
def test_a_transient_failure_is_retried_with_a_doubling_backoff(retries, countdown):
    """1, 2, 4, 8, 16 minutes: the five retries span about half an hour, which RESEND_AFTER (2
    hours) relies on to never resend a request a retry may still send."""
    issued = reason_request_create(customer=CustomerFactory())
    down = mock.patch.object(EmailMultiAlternatives, "send", side_effect=smtplib.SMTPServerDisconnected("down"))

    retrying = mock.patch.object(send_reason_request, "retry", side_effect=Retry())
    with down, retrying as retry, pytest.raises(Retry):
        send_reason_request.apply(args=(issued.request.pk, issued.token), retries=retries)

    assert retry.call_args.kwargs["countdown"] == countdown == RETRY_BASE_SECONDS * 2**retries


@time_machine.travel(NOW, tick=False)
def test_a_customer_acquired_in_the_future_is_not_asked_yet(django_capture_on_commit_callbacks):
    """A customer entered ahead of their start date is asked once they are a customer, not before."""
    CustomerFactory(acquired_on=NOW.date() + dt.timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        assert send_reason_requests_to_new_customers(days=30) == 0

    assert mail.outbox == [] and not ReasonRequest.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_customer_another_run_asked_meanwhile_is_not_asked_twice(monkeypatch, django_capture_on_commit_callbacks):
    """Two daily runs at once: the customer row is the lock and the check for an existing request
    is made again under it, so the second run issues no second request (one email per customer)."""
    customer = CustomerFactory(acquired_on=NOW.date())
    listed = accounting_tasks.customers_to_ask

    def listed_then_asked_elsewhere(days):
        customers = list(listed(days=days))
        reason_request_create(customer=customer)  # the other run, committed after our listing
        return customer.__class__.objects.filter(pk__in=[c.pk for c in customers]).order_by("pk")

    monkeypatch.setattr(accounting_tasks, "customers_to_ask", listed_then_asked_elsewhere)
    with django_capture_on_commit_callbacks(execute=False):
        assert send_reason_requests_to_new_customers(days=30) == 0

    assert ReasonRequest.objects.filter(customer=customer).count() == 1


# --- survey reminders --------------------------------------------------------------------------


def test_the_reminder_task_chains_its_next_batch_while_reminders_are_due(settings):
    """More reminders due than one batch: the run chains the next batch at once rather than
    leaving the rest an hour (or, batch after batch, days) late."""
    settings.SURVEY_SEND_BATCH_SIZE = 2
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    survey = SurveyFactory(reminder_days=3)
    for _ in range(5):
        InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=4))

    survey_tasks.send_reminders()  # eager: the chained batches run inline

    assert len(mail.outbox) == 5
    assert not sending.reminders_due().exists()


# --- importing responses -----------------------------------------------------------------------


def test_an_answer_for_an_anonymous_survey_is_listed_beside_the_files_other_errors(tmp_path):
    """Every error of a rejected file is listed (SPEC §2, §7): the row naming an anonymous survey
    too, not only once the other rows are fixed."""
    CustomerFactory(external_id="C1")
    SurveyFactory(name="Pulse", anonymous=True)
    path = tmp_path / "answers.csv"
    path.write_text("customer,survey,score,answered_at,comment,touchpoint\n"
                    "C1,Legacy NPS,11,2024-05-01,,\n"
                    "C1,Pulse,9,2024-05-02,,\n")
    err = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("import_responses", str(path), stdout=StringIO(), stderr=err)

    errors = err.getvalue() + str(failure.value)
    assert "row 2, column score: '11' is not a score" in errors
    assert "row 3, column survey: 'Pulse' is an anonymous survey" in errors
    assert not Invitation.objects.exists()


# --- beat schedules following TIME_ZONE --------------------------------------------------------


def crontab(**fields):
    return CrontabSchedule.objects.create(
        **{"minute": "0", "hour": "9", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*",
           "timezone": "UTC", **fields}
    )


def test_a_new_time_zone_moves_only_the_projects_own_tasks(settings):
    """An admin's schedule of another app's task (here celery's own cleanup) on the old zone is
    theirs: it stays where it is."""
    ScheduleTimeZone.objects.update_or_create(pk=ScheduleTimeZone.SINGLE, defaults={"time_zone": "UTC"})
    foreign = PeriodicTask.objects.create(name="Someone else's", task="thirdparty.tasks.cleanup", crontab=crontab())
    settings.TIME_ZONE = "Europe/Paris"

    schedules_follow_time_zone()

    foreign.refresh_from_db()
    assert str(foreign.crontab.timezone) == "UTC"
    assert str(PeriodicTask.objects.get(name="Nightly report snapshots").crontab.timezone) == "Europe/Paris"


def test_a_moved_schedule_keeps_its_days_and_months(settings):
    """A weekly Monday run moved onto the new zone stays a Monday run: every crontab field is kept,
    not only the hour and minute (which would make it daily)."""
    ScheduleTimeZone.objects.update_or_create(pk=ScheduleTimeZone.SINGLE, defaults={"time_zone": "UTC"})
    task = PeriodicTask.objects.get(name="Reason requests to new customers")
    task.crontab = crontab(day_of_week="1", day_of_month="1-7", month_of_year="1,7")
    task.save()
    settings.TIME_ZONE = "Europe/Paris"

    schedules_follow_time_zone()

    task.refresh_from_db()
    moved = task.crontab
    assert (moved.minute, moved.hour, moved.day_of_week, moved.day_of_month, moved.month_of_year) == (
        "0", "9", "1", "1-7", "1,7")
    assert str(moved.timezone) == "Europe/Paris"
