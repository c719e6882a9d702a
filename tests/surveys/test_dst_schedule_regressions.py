"""Recurring launches, the edit pages and the throttle around daylight-saving changes and midnight:
regressions found by an audit of time zones.

Europe/Paris: the clocks skip 02:00-03:00 on Sunday 30 March 2025. America/New_York: they skip
02:00-03:00 on Sunday 9 March 2025 and go through 01:00-02:00 twice on Sunday 2 November 2025.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from surveys import sending
from surveys.launch import invitation_get_or_create_transactional, survey_launch, surveys_launch_due
from surveys.models import Invitation, InvitationState, Launch, Survey, SurveyKind, SurveyStatus
from tests.factories import CustomerFactory, SurveyFactory
from tests.form_data import HIDDEN_INITIAL, admin_change_data, staff_edit_page_as_posted

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def weekly(at: dt.datetime) -> Survey:
    CustomerFactory()
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP, status=SurveyStatus.ACTIVE, repeat_days=7, next_launch_at=at)


def run_launches_at(moment: dt.datetime) -> list[int]:
    """The beat's launch run a few seconds after `moment`."""
    with time_machine.travel(moment + dt.timedelta(seconds=5), tick=False):
        return surveys_launch_due()


def next_launch(survey: Survey) -> dt.datetime:
    survey.refresh_from_db()
    return timezone.localtime(survey.next_launch_at)


# --- A weekly launch over the spring-forward gap ----------------------------------------------------


def test_only_the_launch_the_spring_change_skips_is_an_hour_late(settings):
    """Due Sundays at 02:30: on 30 March, when 02:30 does not exist, it goes at 03:30; every launch
    after it went at 03:30 too, for good."""
    settings.TIME_ZONE = "Europe/Paris"
    survey = weekly(dt.datetime(2025, 3, 23, 2, 30, tzinfo=PARIS))

    assert run_launches_at(dt.datetime(2025, 3, 23, 2, 30, tzinfo=PARIS))
    assert next_launch(survey) == dt.datetime(2025, 3, 30, 3, 30, tzinfo=PARIS)
    assert run_launches_at(dt.datetime(2025, 3, 30, 3, 30, tzinfo=PARIS))
    assert next_launch(survey) == dt.datetime(2025, 4, 6, 2, 30, tzinfo=PARIS)
    assert run_launches_at(dt.datetime(2025, 4, 6, 2, 30, tzinfo=PARIS))
    assert next_launch(survey) == dt.datetime(2025, 4, 13, 2, 30, tzinfo=PARIS)


def test_a_schedule_started_by_hand_at_half_past_two_comes_back_to_it_after_the_gap(settings):
    settings.TIME_ZONE = "Europe/Paris"
    CustomerFactory()
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP, repeat_days=7, throttle_days=0)
    with time_machine.travel(dt.datetime(2025, 3, 23, 2, 30, tzinfo=PARIS), tick=False):
        survey_launch(survey=survey)
    assert next_launch(survey) == dt.datetime(2025, 3, 30, 3, 30, tzinfo=PARIS)

    assert run_launches_at(dt.datetime(2025, 3, 30, 3, 30, tzinfo=PARIS))

    assert next_launch(survey) == dt.datetime(2025, 4, 6, 2, 30, tzinfo=PARIS)


def test_a_schedule_at_half_past_three_stays_there_over_the_spring_change(settings):
    """03:30 exists on 30 March: the launch due then is not one moved out of the gap."""
    settings.TIME_ZONE = "Europe/Paris"
    survey = weekly(dt.datetime(2025, 3, 23, 3, 30, tzinfo=PARIS))

    for day in (23, 30):
        assert run_launches_at(dt.datetime(2025, 3, day, 3, 30, tzinfo=PARIS))

    assert next_launch(survey) == dt.datetime(2025, 4, 6, 3, 30, tzinfo=PARIS)


def test_a_next_launch_moved_by_hand_after_the_gap_keeps_its_own_time(settings):
    settings.TIME_ZONE = "Europe/Paris"
    survey = weekly(dt.datetime(2025, 3, 23, 2, 30, tzinfo=PARIS))
    run_launches_at(dt.datetime(2025, 3, 23, 2, 30, tzinfo=PARIS))
    Survey.objects.filter(pk=survey.pk).update(next_launch_at=dt.datetime(2025, 3, 31, 10, 0, tzinfo=PARIS))

    assert run_launches_at(dt.datetime(2025, 3, 31, 10, 0, tzinfo=PARIS))

    assert next_launch(survey) == dt.datetime(2025, 4, 7, 10, 0, tzinfo=PARIS)


# --- The edit pages and the repeated autumn hour ----------------------------------------------------

def staff_page_as_posted(client, survey: Survey, **changes) -> tuple[str, dict]:
    """The page's address, and what the browser posts back from it as drawn, with `changes`."""
    url = reverse("surveys:survey-edit", args=[survey.pk])
    return url, staff_edit_page_as_posted(client, url, **changes)


def admin_page_as_posted(client, survey: Survey, **changes) -> tuple[str, dict]:
    """The same for the admin's change page (its date and time apart)."""
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    data = admin_change_data(client, url)
    html = client.get(url).content.decode()
    data.update(HIDDEN_INITIAL.findall(html))
    data.pop("next_launch_at", None)
    data.update(re.findall(r'name="(next_launch_at_[01])" value="([^"]*)"', html))
    return url, {**data, **changes}


def typed(page, date: str, time: str) -> dict:
    """A next launch typed into the page: one datetime-local box, or the admin's two."""
    return {"next_launch_at": f"{date}T{time}"} if page is staff_page_as_posted else {
        "next_launch_at_0": date, "next_launch_at_1": time
    }


EDIT_PAGES = pytest.mark.parametrize("page", [staff_page_as_posted, admin_page_as_posted], ids=["staff", "admin"])


@pytest.fixture
def autumn_survey(settings):
    """Weekly, next launch at 01:30 on 2 November (New York): the first of the two, as the schedule
    stores it (days_later)."""
    settings.TIME_ZONE = "America/New_York"
    with time_machine.travel(dt.datetime(2025, 10, 28, 12, 0, tzinfo=NEW_YORK), tick=False):
        yield SurveyFactory(
            name="Pulse", kind=SurveyKind.RELATIONSHIP, status=SurveyStatus.ACTIVE, repeat_days=7,
            next_launch_at=dt.datetime(2025, 11, 2, 5, 30, tzinfo=dt.UTC),  # 01:30 EDT
        )


@EDIT_PAGES
def test_an_edit_page_saves_a_survey_whose_next_launch_is_in_the_repeated_hour(client_as, autumn_survey, page):
    client = client_as("admin")
    url, data = page(client, autumn_survey, question="New wording {company}?")

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context.get("errors")
    autumn_survey.refresh_from_db()
    assert autumn_survey.question == "New wording {company}?"
    assert autumn_survey.next_launch_at == dt.datetime(2025, 11, 2, 5, 30, tzinfo=dt.UTC)


@EDIT_PAGES
def test_a_time_typed_in_the_repeated_hour_is_its_first_occurrence(client_as, autumn_survey, page):
    client = client_as("admin")
    url, data = page(client, autumn_survey, **typed(page, "2025-11-02", "01:15"))

    assert client.post(url, data).status_code == 302

    autumn_survey.refresh_from_db()
    assert autumn_survey.next_launch_at == dt.datetime(2025, 11, 2, 5, 15, tzinfo=dt.UTC)  # 01:15 EDT


@EDIT_PAGES
def test_a_time_the_spring_change_skips_is_refused_by_name(client_as, autumn_survey, page):
    client = client_as("admin")
    url, data = page(client, autumn_survey, **typed(page, "2025-03-09", "02:30"))

    response = client.post(url, data)

    assert response.status_code == (400 if page is staff_page_as_posted else 200)  # the form again, with why
    assert "2025-03-09 02:30 does not exist in America/New_York: the clocks skip it" in response.content.decode()
    autumn_survey.refresh_from_db()
    assert autumn_survey.next_launch_at == dt.datetime(2025, 11, 2, 5, 30, tzinfo=dt.UTC)


# --- The throttle counts an invitation on the day it was queued -------------------------------------


def test_a_weekly_relaunch_reaches_customers_whose_email_left_after_midnight(settings):
    """Launched at 23:45 with throttle 7: one email leaves at 23:50, the other at 00:05. A week
    later at 23:45, the second customer was suppressed as throttled by the survey's own last launch."""
    settings.TIME_ZONE = "Pacific/Auckland"
    early, late = CustomerFactory(), CustomerFactory()
    SurveyFactory(kind=SurveyKind.RELATIONSHIP, status=SurveyStatus.ACTIVE, repeat_days=7, throttle_days=7,
                  expiry_days=5, next_launch_at=dt.datetime(2025, 6, 1, 23, 45, tzinfo=AUCKLAND))
    run_launches_at(dt.datetime(2025, 6, 1, 23, 45, tzinfo=AUCKLAND))
    for moment in (dt.datetime(2025, 6, 1, 23, 50, tzinfo=AUCKLAND), dt.datetime(2025, 6, 2, 0, 5, tzinfo=AUCKLAND)):
        with time_machine.travel(moment, tick=False):
            assert sending.send_batch(batch_size=1).sent == 1
    assert timezone.localdate(Invitation.objects.get(customer=late).sent_at) == dt.date(2025, 6, 2)

    (relaunch,) = run_launches_at(dt.datetime(2025, 6, 8, 23, 45, tzinfo=AUCKLAND))

    rows = Launch.objects.get(pk=relaunch).invitations.all()
    assert {(row.customer_id, row.state, row.suppression_reason) for row in rows} == {
        (early.pk, InvitationState.QUEUED, ""), (late.pk, InvitationState.QUEUED, "")
    }


def test_a_launchs_email_held_up_for_hours_counts_on_the_day_it_went(settings):
    """Launched at 23:00, its email held up by an outage until 09:00: a survey launched at 10:00
    with a one-day throttle must not email the customer again an hour after the first."""
    customer = CustomerFactory()
    with time_machine.travel(dt.datetime(2025, 6, 1, 23, 0, tzinfo=dt.UTC), tick=False):
        survey_launch(survey=SurveyFactory(throttle_days=1))
    with time_machine.travel(dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        assert sending.send_batch().sent == 1

    with time_machine.travel(dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        launch = survey_launch(survey=SurveyFactory(throttle_days=1))

    assert launch.invitations.get(customer=customer).suppression_reason == "throttled"


def test_a_delayed_trigger_counts_on_the_day_it_was_sent(settings):
    """Triggered at 23:00 on 1 June to go two hours later: that email is of 2 June, inside a 7-day
    throttle on 8 June, though the trigger came on 1 June."""
    settings.TIME_ZONE = "Pacific/Auckland"
    customer = CustomerFactory()
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, status=SurveyStatus.ACTIVE)
    with time_machine.travel(dt.datetime(2025, 6, 1, 23, 0, tzinfo=AUCKLAND), tick=False):
        invitation_get_or_create_transactional(
            survey=survey, customer=customer, touchpoint="delivery", delay=dt.timedelta(hours=2)
        )
    with time_machine.travel(dt.datetime(2025, 6, 2, 1, 0, 5, tzinfo=AUCKLAND), tick=False):
        assert sending.send_batch().sent == 1

    with time_machine.travel(dt.datetime(2025, 6, 8, 23, 45, tzinfo=AUCKLAND), tick=False):
        launch = survey_launch(survey=SurveyFactory(throttle_days=7))

    assert launch.invitations.get().suppression_reason == "throttled"


def test_a_reopened_surveys_waiting_row_counts_from_when_it_went(settings):
    """Launched on 1 June and closed before it sent; opened again on 20 June, when its row goes:
    that email throttles the customer from 20 June, not from 1 June."""
    customer = CustomerFactory()
    survey = SurveyFactory(throttle_days=30)
    with time_machine.travel(dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        survey_launch(survey=survey)
        survey.refresh_from_db()
        survey.status = SurveyStatus.CLOSED
        survey.save()
    with time_machine.travel(dt.datetime(2025, 6, 20, 10, 0, tzinfo=dt.UTC), tick=False):
        survey.status = SurveyStatus.ACTIVE
        survey.save()
        assert sending.send_batch().sent == 1
    mail.outbox.clear()

    with time_machine.travel(dt.datetime(2025, 7, 10, 10, 0, tzinfo=dt.UTC), tick=False):
        launch = survey_launch(survey=SurveyFactory(throttle_days=30))

    assert launch.invitations.get(customer=customer).suppression_reason == "throttled"
