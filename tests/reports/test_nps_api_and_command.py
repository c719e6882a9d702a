"""`manage.py nps` and `/api/reports/nps/` speak the keys of SPEC §7."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from surveys.models import InvitationState, SurveyKind
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SPEC_KEYS = {
    "period", "responses", "promoters", "passives", "detractors", "nps", "margin_of_error", "ci_low", "ci_high",
    "invited", "suppressed", "delivered", "response_rate",
}


@pytest.fixture
def answers():
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    when = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
    for score in (10, 9, 8, 7, 7, 3):
        invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=when)
        ResponseFactory(invitation=invitation, score=score, answered_at=when)
    return survey


def test_the_command_prints_the_spec_json(answers):
    out = StringIO()
    call_command("nps", "2025-Q2", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert SPEC_KEYS <= data.keys()
    assert data["nps"] == "16.6667" and data["nps_shown"] == 17 and data["response_rate"] == "1.0000"


def test_the_command_prints_a_readable_table_for_one_survey(answers):
    out = StringIO()
    call_command("nps", "2025-Q2", "--survey", str(answers.pk), stdout=out)
    text = out.getvalue()
    assert "NPS 2025-Q2" in text and " 17\n" in text and "Response rate (of delivered)" in text


@pytest.mark.parametrize(("args", "message"), [(["2025-13"], "is not a period"), (["2025", "--survey", "999"], "no survey")])
def test_the_command_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("nps", *args)


def test_the_api_gives_the_same_figures(answers, api_client_as):
    response = api_client_as("viewer").get("/api/reports/nps/", {"period": "2025-Q2", "survey": answers.pk})
    assert response.status_code == 200
    assert SPEC_KEYS <= response.json().keys() and response.json()["promoters"] == 2


def test_the_api_explains_a_bad_period(api_client_as):
    response = api_client_as("viewer").get("/api/reports/nps/", {"period": "soon"})
    assert response.status_code == 400 and "period" in response.json()


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("viewer", 200), ("analyst", 200), ("admin", 200)])
def test_the_api_needs_a_role(role, status, api_client_as, client):
    from rest_framework.test import APIClient

    api = api_client_as(role) if role else APIClient()
    assert api.get("/api/reports/nps/", {"period": "2025"}).status_code == status
