"""The NPS dashboard: every section renders, every table downloads, roles, no identity leaks."""

import datetime as dt

import pytest

from surveys.models import InvitationState
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
URL = "/reports/nps/"


def answer(survey, score, **extra):
    customer = CustomerFactory(name=extra.pop("name", "Zed Customer"))
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=WHEN)
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, **extra)


@pytest.fixture
def answers():
    survey = SurveyFactory(name="Quarterly pulse")
    for score in (10, 9, 8, 7, 7, 3):
        answer(survey, score, reason=f"score {score}", touchpoint="web")
    return survey


def test_it_shows_every_section(answers, client_as):
    page = client_as("viewer").get(URL, {"period": "2025-Q2"})
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("NPS 2025-Q2", "Against 2025-Q1", "Integrity", "Trend", "Scores 0–10", "Loyalty economics",
                 "By segment", "By touchpoint", "Latest verbatims", "nps-data", "vendor/plotly"):
        assert text in html, text
    assert '<p class="nps-big">17</p>' in html and "±" in html


@pytest.mark.parametrize(
    "table", ["trend", "distribution", "segments", "touchpoints", "surveys", "verbatims", "integrity", "loyalty"]
)
def test_every_table_downloads_as_csv(answers, client_as, table):
    response = client_as("viewer").get(URL, {"period": "2025-Q2", "format": "csv", "table": table})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert len(body.splitlines()) >= 2


def test_verbatims_are_escaped_and_anonymous_ones_never_linked(client_as):
    survey = SurveyFactory(anonymous=True)
    answer(survey, 2, reason="<script>alert(1)</script>", name="Secret Person")
    html = client_as("admin").get(URL, {"period": "2025-Q2"}).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Secret Person" not in html and "/responses/" not in html.split("Latest verbatims")[1]


def test_a_csv_cell_cannot_run_as_a_formula(client_as):
    answer(SurveyFactory(), 9, reason="=HYPERLINK(\"http://evil\")")
    response = client_as("viewer").get(URL, {"period": "2025-Q2", "format": "csv", "table": "verbatims"})
    assert "'=HYPERLINK" in b"".join(response.streaming_content).decode()


def test_a_bad_period_is_explained(client_as):
    response = client_as("viewer").get(URL, {"period": "someday"})
    assert response.status_code == 400 and "is not a period" in response.content.decode()


def test_anonymous_users_log_in_first(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
