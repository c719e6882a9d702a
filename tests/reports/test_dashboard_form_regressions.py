"""Regressions of the dashboards' forms: a refused Recompute shows the page, not plain text; the NPS
series and survey never contradict each other (page, API and command alike); the unknown-reason
link keeps the dashboard's segment."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from surveys.models import SurveyKind
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def late_2026():
    """2025 is recent: a page view computes its snapshots by itself."""
    with time_machine.travel(dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC), tick=True):
        yield


# --- Earned growth ------------------------------------------------------------------------------------


def test_a_refused_recompute_shows_the_dashboard_with_the_error(client_as):
    """The segment shown was renamed meanwhile: the browser got a text/plain "segment: Select a valid
    choice…" outside the layout."""
    CustomerFactory(segment="SMB")

    response = client_as("admin").post(
        reverse("reports:earned-growth-recompute"),
        {"period": "2025", "compare": "prior", "grain": "entity", "segment": "Gone"},
    )

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "css/app.css" in html and "Nothing was recomputed" in html
    assert "segment" in response.context["form"].errors


def test_a_refused_csv_download_still_answers_text(client_as):
    response = client_as("viewer").get(
        reverse("reports:earned-growth"), {"period": "2025", "segment": "Gone", "format": "csv"}
    )

    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")


def test_the_unknown_reason_link_keeps_the_dashboard_segment(client_as, django_capture_on_commit_callbacks):
    """It linked to every segment's unknown-reason customers from one segment's dashboard."""
    for segment, amount in (("SMB & Co", "80.00"), ("Enterprise", "50.00")):
        pay(CustomerFactory(segment=segment, reason=None), "2025-04-01", amount)
    client = client_as("analyst")
    url = reverse("reports:earned-growth")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url, {"period": "2025", "segment": "SMB & Co"})

    html = client.get(url, {"period": "2025", "segment": "SMB & Co"}).content.decode()

    link = re.search(r'href="([^"]*reason_class=unknown[^"]*)"', html).group(1)
    assert link == f"{reverse('accounting:customer-list')}?reason_class=unknown&amp;segment=SMB%20%26%20Co"


def test_without_a_segment_the_unknown_reason_link_has_none(client_as, django_capture_on_commit_callbacks):
    pay(CustomerFactory(segment="SMB", reason=None), "2025-04-01", "80.00")
    client = client_as("analyst")
    url = reverse("reports:earned-growth")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url, {"period": "2025"})

    html = client.get(url, {"period": "2025"}).content.decode()

    assert f'href="{reverse("accounting:customer-list")}?reason_class=unknown"' in html


# --- NPS: one series, the one the survey belongs to ------------------------------------------------


@pytest.fixture
def relationship_survey():
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP, name="Pulse")
    ResponseFactory(invitation__survey=survey, answered_at=dt.datetime(2025, 6, 10, tzinfo=dt.UTC))
    return survey


def test_the_nps_dashboard_refuses_a_series_that_contradicts_the_survey(client_as, relationship_survey):
    """It showed the relationship survey's figures while its form said "Transactional"."""
    response = client_as("viewer").get(
        reverse("reports:nps"), {"period": "2025", "type": "transactional", "survey": relationship_survey.pk}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["type"] == [
        "Pulse is a relationship survey: choose the relationship series, or another survey."
    ]
    assert "dashboard" not in response.context


def test_the_nps_dashboard_takes_the_surveys_own_series(client_as, relationship_survey):
    response = client_as("viewer").get(
        reverse("reports:nps"), {"period": "2025", "type": "relationship", "survey": relationship_survey.pk}
    )

    assert response.status_code == 200
    assert response.context["dashboard"].current.counts.responses == 1


def test_the_nps_api_refuses_a_series_that_contradicts_the_survey(api_client_as, relationship_survey):
    response = api_client_as("viewer").get(
        "/api/reports/nps/", {"period": "2025", "type": "transactional", "survey": relationship_survey.pk}
    )

    assert response.status_code == 400 and "relationship survey" in response.json()["type"][0]


def test_the_nps_command_refuses_a_series_that_contradicts_the_survey(relationship_survey):
    with pytest.raises(CommandError, match="relationship survey"):
        call_command("nps", "2025", "--survey", str(relationship_survey.pk), "--type", "transactional")
