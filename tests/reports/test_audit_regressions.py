"""Regressions found by the SPEC audit: negative figures in the CSV downloads, years out of range."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from reports.periods import parse_period
from surveys.models import InvitationState, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2025, 5, 10, tzinfo=dt.UTC)
OUT_OF_RANGE = "the year must be from 1900 to 2999"


# --- CSV figures are numbers, negative ones too ----------------------------------------------------


@pytest.fixture
def critics():
    """2025-Q2: two detractors and a promoter (NPS -33.3333); the critic paid 200, then refunded 20."""
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    customers = {score: CustomerFactory() for score in (2, 3, 9)}
    for score, customer in customers.items():
        invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=WHEN)
        ResponseFactory(invitation=invitation, score=score, answered_at=WHEN)
    pay(customers[2], "2025-04-01", "200.00")
    pay(customers[2], "2025-07-15", "-20.00")
    return survey


def download(client, table) -> list[dict]:
    """The table's rows; QUOTE_NONNUMERIC reads every unquoted cell as a number and fails on text."""
    response = client.get("/reports/nps/", {"period": "2025-Q2", "format": "csv", "table": table})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body), quoting=csv.QUOTE_NONNUMERIC))


@pytest.mark.parametrize(("table", "key", "value"), [("trend", "period", "2025-Q2"), ("segments", "segment", "SMB")])
def test_a_negative_nps_and_interval_download_as_numbers(critics, client_as, table, key, value):
    [row] = [row for row in download(client_as("viewer"), table) if row[key] == value]

    assert (row["responses"], row["nps"]) == (3, -33.3333)
    assert isinstance(row["ci_low"], float) and row["ci_low"] < 0


def test_a_negative_nrr_downloads_as_a_number(critics, client_as):
    rows = {row["category"]: row for row in download(client_as("viewer"), "loyalty")}

    assert (rows["detractor"]["revenue"], rows["detractor"]["nrr"]) == (200, -0.1)


# --- Years outside 1900..2999 are refused, not crashed on -------------------------------------------


@pytest.mark.parametrize("text", ["0001", "1899-Q4", "3000", "9999-12"])
def test_a_year_outside_1900_to_2999_is_refused(text):
    with pytest.raises(ValueError, match=OUT_OF_RANGE):
        parse_period(text)


@pytest.mark.parametrize(
    "url", ["/api/reports/earned-growth/?period=0001", "/api/reports/nps/?period=9999-12"]
)
def test_the_report_api_gives_a_400_for_a_year_out_of_range(api_client_as, url):
    response = api_client_as("viewer").get(url)

    assert response.status_code == 400
    assert OUT_OF_RANGE in response.json()["period"][0]


@pytest.mark.parametrize("period", ["0001", "9999-12"])
def test_the_nps_dashboard_explains_a_year_out_of_range(client_as, period):
    response = client_as("viewer").get("/reports/nps/", {"period": period})

    assert response.status_code == 400
    assert OUT_OF_RANGE in str(response.context["form"].errors["period"])


@pytest.mark.parametrize(("command", "period"), [("nps", "9999-12"), ("earned_growth", "0001")])
def test_the_report_commands_refuse_a_year_out_of_range(command, period):
    with pytest.raises(CommandError, match=OUT_OF_RANGE):
        call_command(command, period)

