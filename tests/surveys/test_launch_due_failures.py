"""The daily relaunch (surveys_launch_due): one due survey that cannot launch stops no other."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils import timezone

from surveys import launch
from surveys.launch import surveys_launch_due
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [ValidationError("This survey is closed."), DatabaseError("statement timeout")])
def test_a_due_survey_that_cannot_launch_does_not_stop_the_others(monkeypatch, caplog, error):
    CustomerFactory()
    due = timezone.now() - dt.timedelta(hours=1)
    refused = SurveyFactory(name="A refused", repeat_days=7, next_launch_at=due)
    fine = SurveyFactory(name="B fine", repeat_days=7, next_launch_at=due)
    real_launch = launch.survey_launch

    def survey_launch(*, survey, **kwargs):
        if survey.pk == refused.pk:  # e.g. closed by hand while the relaunch ran
            raise error
        return real_launch(survey=survey, **kwargs)

    monkeypatch.setattr(launch, "survey_launch", survey_launch)

    launched = surveys_launch_due()

    assert launched == [fine.launches.get().pk]
    refused.refresh_from_db()
    assert refused.next_launch_at == due and not refused.launches.exists()  # rolled back: tried again next run
    assert f"Survey {refused.pk} ('A refused') was due but could not be launched" in caplog.text
