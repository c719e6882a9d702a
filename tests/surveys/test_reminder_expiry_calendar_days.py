"""A survey's reminder and its link's expiry "after N days" count days on the company's clock.

Like a relaunch (days_later), they keep the local time of day the invitation was sent at over a
daylight-saving change: sent at 10:00, reminded at the 10:00 hourly run N days later, valid until
10:00 on the last day. Europe/Paris: clocks go forward on Sunday 30 March 2025 and back on Sunday
26 October 2025. Also: a launch is named by its time in the company's zone.
"""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from surveys import sending
from surveys.models import InvitationState, Launch
from tests.factories import InvitationFactory, SurveyFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def paris(db, settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    with override_settings(TIME_ZONE="Europe/Paris"), timezone.override(PARIS):
        yield


def _sent_at(moment: dt.datetime, *, reminder_days: int = 3, expiry_days: int = 7):
    """An invitation sent by the real sending path at `moment` (Paris time)."""
    survey = SurveyFactory(reminder_days=reminder_days, expiry_days=expiry_days)
    invitation = InvitationFactory(
        survey=survey, state=InvitationState.QUEUED, sent_at=None, expires_at=None, send_after=moment
    )
    with time_machine.travel(moment, tick=False):
        assert sending.send_batch().sent == 1
    invitation.refresh_from_db()
    mail.outbox.clear()
    return invitation


def _reminders_at(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return sending.send_reminders().sent


def _paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


def test_a_reminder_goes_at_the_hourly_run_n_calendar_days_later_over_the_spring_change(paris):
    """Sent Friday 28 March at 10:00: 71 hours later (the 09:00 run on Monday) is too early, the
    10:00 run sends it, though 72 hours have not passed until 11:00."""
    invitation = _sent_at(_paris(2025, 3, 28, 10, 0))

    assert _reminders_at(_paris(2025, 3, 31, 9, 0, 5)) == 0
    assert _reminders_at(_paris(2025, 3, 31, 10, 0, 5)) == 1
    assert _reminders_at(_paris(2025, 3, 31, 11, 0, 5)) == 0  # once

    invitation.refresh_from_db()
    assert timezone.localtime(invitation.reminder_sent_at) == _paris(2025, 3, 31, 10, 0, 5)
    assert len(mail.outbox) == 1


def test_a_reminder_does_not_go_an_hour_early_over_the_autumn_change(paris):
    """Sent Friday 24 October at 10:00: the 09:00 run on Monday 27 is 72 hours later but not yet
    3 days by the company's clock; the 10:00 run sends it."""
    invitation = _sent_at(_paris(2025, 10, 24, 10, 0))

    assert _reminders_at(_paris(2025, 10, 27, 9, 0, 5)) == 0
    invitation.refresh_from_db()
    assert invitation.reminder_sent_at is None
    assert _reminders_at(_paris(2025, 10, 27, 10, 0, 5)) == 1
    assert _reminders_at(_paris(2025, 10, 27, 11, 0, 5)) == 0  # once


def test_surveys_with_different_reminder_days_each_get_their_own_cutoff(paris):
    """One cutoff per reminder_days, shared by the surveys that have it; over the autumn change."""
    friday = _paris(2025, 10, 24, 10, 0)
    two_days, three_days = _sent_at(friday, reminder_days=2), _sent_at(friday, reminder_days=3)
    other_three_days = _sent_at(friday, reminder_days=3)

    with time_machine.travel(_paris(2025, 10, 26, 9, 30), tick=False):
        assert list(sending.reminders_due()) == []
    with time_machine.travel(_paris(2025, 10, 26, 10, 0), tick=False):
        assert list(sending.reminders_due()) == [two_days]
    with time_machine.travel(_paris(2025, 10, 27, 10, 0), tick=False):
        assert sorted(row.pk for row in sending.reminders_due()) == sorted(
            [two_days.pk, three_days.pk, other_three_days.pk]
        )


def test_the_surveys_read_once_for_the_reminder_cutoffs(paris, django_assert_num_queries):
    for days in (1, 2, 2, 3, 3, 3):
        SurveyFactory(reminder_days=days)

    with django_assert_num_queries(2):  # the surveys' reminder days, then the due invitations
        list(sending.reminders_due())


def test_a_seven_day_link_works_until_the_same_local_time_over_the_autumn_change(paris):
    """Sent Friday 24 October at 10:00, valid 7 days: until Friday 31 October 10:00 (169 hours),
    not 09:00; the 09:30 expiry run leaves it, the 10:00 one expires it."""
    invitation = _sent_at(_paris(2025, 10, 24, 10, 0))

    assert timezone.localtime(invitation.expires_at) == _paris(2025, 10, 31, 10, 0)
    with time_machine.travel(_paris(2025, 10, 31, 9, 30), tick=False):
        assert sending.expire_invitations() == 0
    with time_machine.travel(_paris(2025, 10, 31, 10, 0), tick=False):
        assert sending.expire_invitations() == 1


def test_a_seven_day_link_does_not_outlive_its_last_day_over_the_spring_change(paris):
    invitation = _sent_at(_paris(2025, 3, 28, 10, 0))

    assert timezone.localtime(invitation.expires_at) == _paris(2025, 4, 4, 10, 0)  # 167 hours
    with time_machine.travel(_paris(2025, 4, 4, 10, 0), tick=False):
        assert sending.expire_invitations() == 1


def test_a_reminder_tells_the_days_left_on_the_companys_clock_over_the_autumn_change(paris):
    """Sent Wednesday 22 October at 10:00, valid 7 days, reminded Saturday 25 at 10:00: 4 days
    left on the clock (until Wednesday 29, 10:00), though 97 hours remain across the change."""
    _sent_at(_paris(2025, 10, 22, 10, 0))

    assert _reminders_at(_paris(2025, 10, 25, 10, 0, 5)) == 1

    body = mail.outbox[0].body
    assert "works for 4 days" in body and "5 days" not in body


def test_an_invitations_admin_page_names_its_launch_at_the_companys_time(paris, client_as):
    survey = SurveyFactory(name="Quarterly")
    launched = _paris(2025, 6, 10, 6, 0)  # 04:00 UTC
    launch = Launch.objects.create(survey=survey, audience="all", launched_at=launched)
    invitation = InvitationFactory(survey=survey, launch=launch, sent_at=launched)

    page = client_as("admin").get(reverse("admin:surveys_invitation_change", args=[invitation.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Quarterly launched 2025-06-10 06:00" in text
    assert "Quarterly launched 2025-06-10 04:00" not in text
    assert str(Launch.objects.get(pk=launch.pk)) == "Quarterly launched 2025-06-10 06:00"
