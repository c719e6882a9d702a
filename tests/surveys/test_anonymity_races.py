"""An import of answers that name their customers and a survey being made anonymous, at the same
moment (PostgreSQL): whichever comes second waits for the first and then refuses."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from surveys.importing import import_responses
from surveys.models import Response, Survey
from tests.concurrency import while_first_is_held
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]

FILE = b"customer,survey,score,answered_at,comment,touchpoint\nC1,Legacy NPS,9,2025-03-01,fine,\n"


def made_anonymous(survey_pk):
    survey = Survey.objects.get(pk=survey_pk)
    survey.anonymous = True
    survey.save()


def import_answers():
    return import_responses(io.BytesIO(FILE))


@pytest.fixture
def named_survey():
    CustomerFactory(external_id="C1")
    return SurveyFactory(name="Legacy NPS", anonymous=False)


def test_a_survey_made_anonymous_during_an_import_waits_and_refuses(named_survey):
    second = while_first_is_held(import_answers, lambda: made_anonymous(named_survey.pk))

    assert second.waited
    assert isinstance(second.error, ValidationError) and "imported answers" in str(second.error)
    assert not Survey.objects.get(pk=named_survey.pk).anonymous
    assert Response.objects.count() == 1


def test_an_import_during_a_survey_made_anonymous_waits_and_refuses(named_survey):
    second = while_first_is_held(lambda: made_anonymous(named_survey.pk), import_answers)

    assert second.waited and second.error is None
    assert not second.result.ok
    assert "is an anonymous survey" in str(second.result.problems.listed)
    assert Survey.objects.get(pk=named_survey.pk).anonymous
    assert not Response.objects.exists()
