"""What a new user meets after `python3 run.py demo`: the NPS dashboard opens on the last complete
quarter, whose next quarter is the one still running, and its loyalty economics say so.

(The demo's own data and emails: tests/surveys/test_demo_surveys.py; the reason page's thank-you
redirect: tests/accounting/test_reason_public.py.)"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine

from reports.loyalty import loyalty_economics
from reports.periods import parse_period
from surveys.models import InvitationState, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, RevenueEntryFactory, SurveyFactory

pytestmark = pytest.mark.django_db
URL = "/reports/nps/"
ANSWERED = dt.datetime(2026, 8, 14, 9, tzinfo=dt.UTC)
NOTE = "the next period, is not over"


@pytest.fixture
def promoter_billed_in_july_only():
    """A promoter of 2026-Q3, billed every month of it; by 2026-11-30 not yet billed in Q4."""
    customer = CustomerFactory()
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=ANSWERED)
    ResponseFactory(invitation=invitation, score=10, answered_at=ANSWERED)
    for day in ("2026-07-01", "2026-08-01", "2026-09-01"):
        RevenueEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=Decimal("100.00"))
    return customer


def promoters(quarter: str):
    return next(row for row in loyalty_economics(period=parse_period(quarter)) if row.category == "promoter")


def loyalty_csv(client) -> list[dict]:
    response = client.get(URL, {"period": "2026-Q3", "format": "csv", "table": "loyalty"})
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), tick=False)
def test_loyalty_says_the_next_period_is_not_over_while_it_runs(promoter_billed_in_july_only):
    row = promoters("2026-Q3")

    assert (row.customers, row.churned_customers) == (1, 1)  # "churned": not billed in Q4 so far
    assert row.next_period_complete is False


@time_machine.travel(dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC), tick=False)
def test_the_next_periods_last_day_is_not_over_yet(promoter_billed_in_july_only):
    assert promoters("2026-Q3").next_period_complete is False


@time_machine.travel(dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC), tick=False)
def test_once_the_next_period_is_over_its_figures_are_final(promoter_billed_in_july_only):
    assert promoters("2026-Q3").next_period_complete is True


@time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), tick=False)
def test_the_panel_and_its_csv_warn_that_churn_and_revenue_are_so_far(promoter_billed_in_july_only, client_as):
    client = client_as("viewer")

    html = client.get(URL, {"period": "2026-Q3"}).content.decode()
    panel = html.split('id="loyalty-title"')[1].split("</section>")[0]
    assert f"2026-Q4, {NOTE}" in panel and "counts as churned" in panel
    assert {row["next_period_complete"] for row in loyalty_csv(client)} == {"no"}


@time_machine.travel(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC), tick=False)
def test_the_panel_of_a_period_whose_next_is_over_has_no_such_note(promoter_billed_in_july_only, client_as):
    client = client_as("viewer")

    assert NOTE not in client.get(URL, {"period": "2026-Q3"}).content.decode()
    assert {row["next_period_complete"] for row in loyalty_csv(client)} == {"yes"}
