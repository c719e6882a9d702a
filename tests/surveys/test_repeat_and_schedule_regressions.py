"""Surveys run again, retried or scheduled across time zones: regressions found by audits of
repeats and of time zones."""

import datetime as dt
import io
import smtplib
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from surveys import sending
from surveys.importing import import_responses
from surveys.launch import surveys_launch_due
from surveys.models import Invitation, Response, Survey, SurveyKind, SurveyStatus
from tests.concurrency import while_first_is_held
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
MAILBOX_FULL = "full@customer.example.com"


def test_a_trigger_retried_after_the_survey_was_closed_gets_its_invitation_back(
    api_client_as, django_capture_on_commit_callbacks
):
    """A client that timed out retries the same event: it is the same event, closed survey or not."""
    survey = SurveyFactory(name="After delivery", kind=SurveyKind.TRANSACTIONAL)
    CustomerFactory(external_id="C-1")
    api = api_client_as("analyst")
    body = {"survey": survey.pk, "customer": "C-1", "touchpoint": "delivery", "reference": "ORDER-9"}
    with django_capture_on_commit_callbacks():
        first = api.post(reverse("api-invitation-list"), body, format="json")
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.CLOSED)

    again = api.post(reverse("api-invitation-list"), body, format="json")
    new_event = api.post(reverse("api-invitation-list"), {**body, "reference": "ORDER-10"}, format="json")

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] == Invitation.objects.get().pk
    assert new_event.status_code == 400  # a new event on a closed survey is still refused


def test_one_full_mailbox_does_not_hold_back_every_other_reminder():
    """A 4xx for one recipient (mailbox full) gives that claim back for a later run; the others
    in the batch are reminded now instead of waiting behind it until its link expires."""
    survey = SurveyFactory(reminder_days=3)
    earlier = timezone.now() - dt.timedelta(days=5)
    full = InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory(email=MAILBOX_FULL))
    others = [InvitationFactory(survey=survey, sent_at=earlier + dt.timedelta(minutes=n + 1)) for n in range(3)]
    real = sending._send_one

    def refusing_one(conn, invitation, *, reminder=False):
        if (invitation.email or invitation.customer.email) == MAILBOX_FULL:
            raise smtplib.SMTPRecipientsRefused({MAILBOX_FULL: (452, b"4.2.2 Mailbox full")})
        return real(conn, invitation, reminder=reminder)

    with mock.patch.object(sending, "_send_one", refusing_one):
        result = sending.send_reminders()

    assert sorted(address for message in mail.outbox for address in message.to) == sorted(o.email for o in others)
    full.refresh_from_db()
    assert full.reminder_claimed_at is None and full.reminder_sent_at is None  # due again next run
    assert result.retry_in is None  # no minute-by-minute retries for one mailbox: the hourly run will do


def test_a_server_going_away_still_ends_the_reminder_batch():
    survey = SurveyFactory(reminder_days=3)
    earlier = timezone.now() - dt.timedelta(days=5)
    for n in range(3):
        InvitationFactory(survey=survey, sent_at=earlier + dt.timedelta(minutes=n))
    with mock.patch.object(sending, "_send_one", side_effect=smtplib.SMTPServerDisconnected("gone")) as send:
        result = sending.send_reminders()
    assert send.call_count == 1 and result.retry_in


def test_a_weekly_survey_due_at_six_keeps_its_weekday_over_the_spring_clock_change():
    """Every 7 days from Thursday 06:00 (Paris): still Thursday 06:00 after 30 March, when the
    daily 06:00 beat run sees it due, not 07:00 (launched on Friday instead)."""
    with override_settings(TIME_ZONE="Europe/Paris"), timezone.override(PARIS):
        CustomerFactory()
        survey = SurveyFactory(
            kind=SurveyKind.RELATIONSHIP, repeat_days=7, next_launch_at=dt.datetime(2025, 3, 27, 6, 0, tzinfo=PARIS)
        )
        with time_machine.travel(dt.datetime(2025, 3, 27, 6, 0, 5, tzinfo=PARIS), tick=False):
            assert len(surveys_launch_due()) == 1
        survey.refresh_from_db()
        assert timezone.localtime(survey.next_launch_at) == dt.datetime(2025, 4, 3, 6, 0, tzinfo=PARIS)
        with time_machine.travel(dt.datetime(2025, 4, 3, 6, 0, 5, tzinfo=PARIS), tick=False):
            assert len(surveys_launch_due()) == 1


@pytest.mark.parametrize(("zone", "value"), [
    ("Pacific/Auckland", "0001-01-01T05:00:00"),  # naive: read in the company's zone
    ("UTC", "0001-01-01T00:30:00+01:00"),          # an explicit offset east of UTC
])
def test_an_answer_time_before_year_one_in_utc_is_a_row_error(tmp_path, zone, value):
    with override_settings(TIME_ZONE=zone), timezone.override(zone):
        CustomerFactory(external_id="C1")
        path = tmp_path / "answers.csv"
        path.write_text(f"customer,survey,score,answered_at,comment,touchpoint\nC1,Old,10,{value},,\n")
        err = StringIO()
        with pytest.raises(CommandError) as failure:
            call_command("import_responses", str(path), stdout=StringIO(), stderr=err)
    text = err.getvalue() + str(failure.value)
    assert "row 2" in text and "answered_at" in text and "too far in the past" in text
    assert not Response.objects.exists()


def test_a_reminder_at_or_after_the_expiry_is_refused_everywhere(api_client_as):
    """Reminders go only to links not expired yet: a reminder after 40 days on links that expire
    after 30 would be shown and never sent."""
    api = api_client_as("admin")
    refused = api.post(reverse("api-survey-list"), {"name": "Late", "reminder_days": 40, "expiry_days": 30},
                       format="json")
    assert refused.status_code == 400
    assert "before the link expires" in str(refused.json())
    survey = SurveyFactory(reminder_days=5, expiry_days=30)
    edited = api.patch(reverse("api-survey-detail", args=[survey.pk]), {"expiry_days": 5}, format="json")
    assert edited.status_code == 400
    assert not Survey.objects.filter(name="Late").exists()
    assert Survey.objects.get(pk=survey.pk).expiry_days == 30


def test_a_user_who_owns_a_survey_cannot_be_deleted_silently(admin_client):
    """Deleting the owner would clear it by a bulk UPDATE (no audit entry) and end the survey's
    detractor alerts unseen: refused, as for every record that names its user."""
    owner = UserFactory(username="leaving-owner", password=None)
    survey = SurveyFactory(owner=owner)
    page = admin_client.post(reverse("admin:auth_user_delete", args=[owner.pk]), {"post": "yes"})
    assert page.status_code == 200  # the confirmation page, naming what protects the user
    assert "Survey" in page.content.decode()
    assert get_user_model().objects.filter(pk=owner.pk).exists()
    survey.refresh_from_db()
    assert survey.owner_id == owner.pk


ANSWERS = (
    b"customer,survey,score,answered_at,comment,touchpoint\n"
    b"C1,Legacy NPS,9,2025-03-01,fine,\n"
    b"C2,Legacy NPS,3,2025-03-02,slow,\n"
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks need PostgreSQL")
@pytest.mark.parametrize("survey_exists", [True, False], ids=["existing-survey", "new-survey"])
def test_the_same_answers_imported_twice_at_once_are_already_there_the_second_time(survey_exists):
    CustomerFactory(external_id="C1")
    CustomerFactory(external_id="C2")
    if survey_exists:
        SurveyFactory(name="Legacy NPS")

    second = while_first_is_held(lambda: import_responses(io.BytesIO(ANSWERS)),
                                 lambda: import_responses(io.BytesIO(ANSWERS)))

    assert second.error is None, repr(second.error)
    assert second.result.ok and (second.result.created, second.result.skipped) == (0, 2)
    assert Response.objects.count() == 2 and Invitation.objects.count() == 2
