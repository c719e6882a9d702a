"""The life of a survey as staff and integrators drive it: closing, launching, relaunching,
triggers and reminders. Regressions found by an audit of the survey lifecycle."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from surveys import sending
from surveys.launch import survey_launch, surveys_launch_due
from surveys.models import Invitation, InvitationState, Launch, Survey, SurveyKind, SurveyStatus
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def form_data(survey, **changes):
    data = {
        "name": survey.name, "kind": survey.kind, "status": survey.status, "question": survey.question,
        "reason_prompt": survey.reason_prompt, "improve_prompt": survey.improve_prompt,
        "expiry_days": survey.expiry_days, "throttle_days": survey.throttle_days, "audience": survey.audience,
        "reminder_days": survey.reminder_days or "", "repeat_days": survey.repeat_days or "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture(autouse=True)
def _no_pacing(settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0


# --- Closing a survey ----------------------------------------------------------------------------


def test_closing_a_survey_stops_its_queued_invitations(client_as, django_capture_on_commit_callbacks):
    """Launched, then closed by staff before the worker got to the queue: nothing should go out."""
    CustomerFactory()
    survey = SurveyFactory(throttle_days=0)
    with django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=survey)  # queued, sender not run yet
    survey.refresh_from_db()
    client = client_as("admin")
    closed = client.post(reverse("surveys:survey-edit", args=[survey.pk]), form_data(survey, status="closed"))
    assert closed.status_code == 302
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.CLOSED

    sending.send_batch()

    assert mail.outbox == []


def test_a_delayed_trigger_is_not_sent_once_its_survey_is_closed(api_client_as, django_capture_on_commit_callbacks):
    """A transactional trigger with delay_minutes, then the survey is closed (API PATCH): the email
    due hours later still goes out for the closed survey."""
    CustomerFactory(external_id="C-1")
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, status=SurveyStatus.ACTIVE, throttle_days=0)
    api = api_client_as("admin")
    with django_capture_on_commit_callbacks(execute=False):
        created = api.post(reverse("api-invitation-list"), {
            "survey": survey.pk, "customer": "C-1", "touchpoint": "delivery", "reference": "O-1",
            "delay_minutes": 60 * 24,
        }, format="json")
    assert created.status_code == 201
    patched = api.patch(reverse("api-survey-detail", args=[survey.pk]), {"status": "closed"}, format="json")
    assert patched.status_code == 200

    with time_machine.travel(timezone.now() + dt.timedelta(days=2), tick=False):
        sending.send_batch()

    assert mail.outbox == []


def test_no_reminder_goes_out_for_a_closed_survey():
    survey = SurveyFactory(reminder_days=3, status=SurveyStatus.CLOSED)
    InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=5))

    sending.send_reminders()

    assert mail.outbox == []


# --- Recurrence and throttle ---------------------------------------------------------------------


def test_a_quarterly_survey_with_a_90_day_throttle_reaches_its_customers_each_quarter():
    """repeat_days 90 and the default throttle of 90 days: relaunches come at the same time of day
    (days_later), and the previous launch's emails went out seconds after it, so they are a few
    seconds short of 90 days old: every customer is throttled at every other relaunch."""
    CustomerFactory(external_id="K")
    survey = SurveyFactory(
        repeat_days=90, throttle_days=90, next_launch_at=dt.datetime(2025, 1, 2, 6, 0, tzinfo=UTC)
    )
    with time_machine.travel(dt.datetime(2025, 1, 2, 6, 0, 1, tzinfo=UTC), tick=False):
        assert len(surveys_launch_due()) == 1
    with time_machine.travel(dt.datetime(2025, 1, 2, 6, 0, 20, tzinfo=UTC), tick=False):
        sending.send_batch()
    assert len(mail.outbox) == 1
    survey.refresh_from_db()
    assert survey.next_launch_at == dt.datetime(2025, 4, 2, 6, 0, tzinfo=UTC)

    with time_machine.travel(dt.datetime(2025, 4, 2, 6, 0, 1, tzinfo=UTC), tick=False):
        (launch_id,) = surveys_launch_due()
    second = Launch.objects.get(pk=launch_id)
    states = list(second.invitations.values_list("state", "suppression_reason"))
    assert states == [(InvitationState.QUEUED, "")]


def test_the_form_warns_when_a_recurring_survey_relaunches_inside_its_own_throttle(client_as):
    """Monthly relaunch with the default 90-day throttle: every relaunch finds each previous
    recipient throttled (two relaunches out of three reach nobody). Neither refused nor warned."""
    client = client_as("admin")
    data = {"name": "Monthly pulse", "kind": "relationship", "status": "draft", "question": "Q?",
            "expiry_days": 14, "throttle_days": 90, "audience": "all", "repeat_days": 30}

    page = client.post(reverse("surveys:survey-create"), data, follow=True)

    text = page.content.decode().lower()
    refused = page.status_code == 400 and "throttle" in text
    warned = "throttle" in " ".join(str(m) for m in page.context["messages"]).lower() if "messages" in (
        page.context or {}) else False
    assert refused or warned, "a monthly survey with a 90-day throttle is saved without a word"


# --- Launch ---------------------------------------------------------------------------------------


def test_the_launch_form_refuses_a_segment_no_customer_carries(client_as):
    """send_survey --segment smb refuses (accounting.selectors.customer_segment_exists: 'a typo
    ("smb" for "SMB") would otherwise launch to nobody'); the UI's launch button does not."""
    CustomerFactory(segment="SMB")
    survey = SurveyFactory(throttle_days=0)

    page = client_as("analyst").post(
        reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on", "segment": "smb"}
    )

    assert page.status_code == 400, "launched to an empty audience instead of naming the typo"
    assert not Launch.objects.exists()


def test_the_api_launch_refuses_a_segment_no_customer_carries(api_client_as):
    CustomerFactory(segment="SMB")
    survey = SurveyFactory(throttle_days=0)

    response = api_client_as("analyst").post(
        reverse("api-survey-launch", args=[survey.pk]), {"segment": "smb"}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert Survey.objects.get(pk=survey.pk).status == SurveyStatus.DRAFT


def test_the_command_refuses_a_segment_no_customer_carries():
    """The command does refuse it: the reference behaviour for the two tests above."""
    from django.core.management import CommandError, call_command

    CustomerFactory(segment="SMB")
    SurveyFactory(name="Pulse")
    with pytest.raises(CommandError, match="No customer is in segment"):
        call_command("send_survey", "Pulse", "--segment", "smb")


def test_a_launch_to_only_suppressed_customers_does_not_say_sending_has_started(client_as):
    CustomerFactory(survey_opt_out=True)
    CustomerFactory(email="")
    survey = SurveyFactory(throttle_days=0)

    page = client_as("analyst").post(
        reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on"}, follow=True
    )

    shown = " ".join(str(m) for m in page.context["messages"])
    assert Invitation.objects.filter(state=InvitationState.QUEUED).count() == 0
    assert "sending has started" not in shown, shown


def test_a_sample_that_draws_nobody_is_not_a_silent_empty_launch(client_as):
    for _ in range(20):
        CustomerFactory()
    survey = SurveyFactory(throttle_days=0)

    page = client_as("analyst").post(
        reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on", "sample_percent": "1"}, follow=True
    )

    shown = " ".join(str(m) for m in page.context["messages"])
    launch = Launch.objects.first()
    assert launch is None or launch.audience_size > 0 or "sending has started" not in shown, shown


# --- Editing after launch -------------------------------------------------------------------------


def test_a_reminder_after_the_expiry_was_shortened_states_the_days_its_link_really_has(client_as):
    """Sent under a 30-day expiry (expires_at fixed at send), then the survey's expiry is edited
    to 5 days: the link still works 26 more days (the answer page reads expires_at), but the
    reminder says 5 (emails._days_valid caps the days left at the survey's current expiry_days)."""
    survey = SurveyFactory(reminder_days=3, expiry_days=30)
    sent_at = timezone.now() - dt.timedelta(days=4)
    invitation = InvitationFactory(survey=survey, sent_at=sent_at, expires_at=sent_at + dt.timedelta(days=30))
    edited = client_as("admin").post(reverse("surveys:survey-edit", args=[survey.pk]),
                                     form_data(survey, expiry_days=5))
    assert edited.status_code == 302

    sending.send_reminders()

    (reminder,) = mail.outbox
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + dt.timedelta(days=25)  # the link's real life
    assert "works for 26 days" in reminder.body, reminder.body


# --- Survey page ----------------------------------------------------------------------------------


def test_a_closed_recurring_survey_does_not_announce_its_next_launch(client_as):
    """surveys_launch_due skips closed surveys, yet their page still reads 'next <date>'."""
    when = timezone.now() + dt.timedelta(days=3)
    survey = SurveyFactory(status=SurveyStatus.CLOSED, repeat_days=30, next_launch_at=when)

    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk]))

    assert timezone.localtime(when).strftime("%Y-%m-%d %H:%M") not in page.content.decode()


def test_a_trigger_delayed_for_days_does_not_keep_the_page_sending(client_as, api_client_as,
                                                                  django_capture_on_commit_callbacks):
    """A trigger with delay_minutes is 'queued' until it is due: the survey page says 'Sending: this
    page refreshes every 15 seconds' (and reloads itself) for as long as 30 days."""
    CustomerFactory(external_id="C-1")
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)
    with django_capture_on_commit_callbacks(execute=False):
        created = api_client_as("admin").post(reverse("api-invitation-list"), {
            "survey": survey.pk, "customer": "C-1", "touchpoint": "delivery", "delay_minutes": 60 * 24 * 7,
        }, format="json")
    assert created.status_code == 201

    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk]))

    assert page.context["refresh_seconds"] is None, "refreshes every 15 s for a week with nothing to send"


def test_a_closed_surveys_waiting_row_does_not_throttle_its_customer_for_ever(django_capture_on_commit_callbacks):
    """A row queued on a survey closed since waits, maybe for good: it is no invitation, and it
    suppressed the customer as throttled from every other survey while the survey stayed closed."""
    customer = CustomerFactory()
    with time_machine.travel(dt.datetime(2025, 1, 10, 9, tzinfo=UTC), tick=False):
        closed = SurveyFactory(throttle_days=30)
        InvitationFactory(survey=closed, customer=customer, state=InvitationState.QUEUED, sent_at=None)
        Survey.objects.filter(pk=closed.pk).update(status=SurveyStatus.CLOSED)
    other = SurveyFactory(throttle_days=30)
    later = time_machine.travel(dt.datetime(2025, 4, 10, 9, tzinfo=UTC), tick=False)
    with later, django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=other)
    row = Invitation.objects.get(survey=other, customer=customer)
    assert (row.state, row.suppression_reason) == (InvitationState.QUEUED, "")


def test_a_launch_to_a_stored_segment_its_customers_have_left_is_refused(django_capture_on_commit_callbacks):
    from django.core.exceptions import ValidationError

    from surveys.models import AudienceKind

    customer = CustomerFactory(segment="SMB")
    survey = SurveyFactory(throttle_days=0, audience=AudienceKind.SEGMENT, audience_segment="SMB")
    customer.segment = "Enterprise"
    customer.save()
    with pytest.raises(ValidationError, match="SMB"), django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=survey)
    assert not Launch.objects.filter(survey=survey).exists()


def test_a_reopened_surveys_waiting_rows_are_throttled_by_invitations_sent_meanwhile(
    client_as, django_capture_on_commit_callbacks
):
    """While closed, its queued row held nobody back, so another survey invited the customer;
    opened again (by the edit form), that row must not email them a second time inside the throttle."""
    customer = CustomerFactory()
    first, second = SurveyFactory(throttle_days=30), SurveyFactory(throttle_days=30)
    with django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=first)
    first.refresh_from_db()
    client = client_as("admin")
    edit = reverse("surveys:survey-edit", args=[first.pk])
    assert client.post(edit, form_data(first, status="closed")).status_code == 302
    with django_capture_on_commit_callbacks(execute=False):
        survey_launch(survey=second)
    sending.send_batch()
    first.refresh_from_db()
    assert client.post(edit, form_data(first, status="active")).status_code == 302
    sending.send_batch()

    assert [message.to for message in mail.outbox] == [[customer.email]]
    waiting = Invitation.objects.get(survey=first, customer=customer)
    assert (waiting.state, waiting.suppression_reason) == (InvitationState.SUPPRESSED, "throttled")
