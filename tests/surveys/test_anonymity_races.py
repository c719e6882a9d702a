"""An import of answers that name their customers and a survey being made anonymous, at the same
moment (PostgreSQL): whichever comes second waits for the first and then refuses."""

import io
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from surveys.importing import import_responses
from surveys.models import Response, Survey
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


def first_held_then_second(first, second):
    """`first` in a transaction held open while `second` starts; whether `second` waited, and
    what it returned or raised."""
    started, release, outcome = threading.Event(), threading.Event(), {}

    def hold_first():
        try:
            with transaction.atomic():
                first()
                started.set()
                release.wait(10)
        finally:
            connections.close_all()

    def run_second():
        try:
            outcome["result"] = second()
        except ValidationError as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    holder, runner = threading.Thread(target=hold_first), threading.Thread(target=run_second)
    holder.start()
    assert started.wait(10)
    runner.start()
    runner.join(0.5)
    waited = runner.is_alive()
    release.set()
    holder.join(10)
    runner.join(10)
    return waited, outcome


@pytest.fixture
def named_survey():
    CustomerFactory(external_id="C1")
    return SurveyFactory(name="Legacy NPS", anonymous=False)


def test_a_survey_made_anonymous_during_an_import_waits_and_refuses(named_survey):
    waited, outcome = first_held_then_second(import_answers, lambda: made_anonymous(named_survey.pk))

    assert waited
    assert "imported answers" in str(outcome["error"])
    assert not Survey.objects.get(pk=named_survey.pk).anonymous
    assert Response.objects.count() == 1


def test_an_import_during_a_survey_made_anonymous_waits_and_refuses(named_survey):
    waited, outcome = first_held_then_second(lambda: made_anonymous(named_survey.pk), import_answers)

    assert waited
    assert not outcome["result"].ok
    assert "is an anonymous survey" in str(outcome["result"].problems.listed)
    assert Survey.objects.get(pk=named_survey.pk).anonymous
    assert not Response.objects.exists()
