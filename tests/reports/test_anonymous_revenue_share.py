"""The respondents' revenue share never tells who answered an anonymous survey (SPEC §1, §5).

The share is of the customers who answered a named survey: an anonymous survey's answers count in
NPS but not there, and a scope whose answers are all anonymous has no share (null, n/a, empty cell)."""

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest

from reports.nps import nps_report, revenue_share_breakdown, revenue_share_trend
from reports.periods import parse_period
from surveys.models import InvitationState, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")
URL = "/reports/nps/"
FIGURE_TABLES = ["trend", "sample", "segments", "touchpoints", "surveys"]


def answer(survey, customer, score):
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=WHEN,
                                   touchpoint="web")
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, touchpoint="web")


@pytest.fixture
def people():
    """Alice, Bob and Charlie of SMB hold 100, 200 and 700 of Q2's 1,000."""
    customers = {}
    for name, amount in [("alice", "100.00"), ("bob", "200.00"), ("charlie", "700.00")]:
        customers[name] = CustomerFactory(name=name.title(), segment="SMB")
        pay(customers[name], "2025-05-01", amount)
    return customers


@pytest.fixture
def hushed(people):
    """An anonymous survey sent to all three: only Bob answers, 0 (his 200 would be a share of 0.2)."""
    survey = SurveyFactory(name="Hushed", kind=SurveyKind.RELATIONSHIP, anonymous=True)
    for name, customer in people.items():
        if name == "bob":
            answer(survey, customer, 0)
        else:
            InvitationFactory(survey=survey, customer=customer, sent_at=WHEN, touchpoint="web")
    return survey


@pytest.fixture
def named(people, hushed):
    """A named survey of the same series beside it: only Alice answers (her 100: a share of 0.1)."""
    survey = SurveyFactory(name="Named", kind=SurveyKind.RELATIONSHIP)
    answer(survey, people["alice"], 10)
    return survey


def download(client, **query) -> list[dict]:
    response = client.get(URL, {"period": "2025-Q2", "format": "csv", **query})
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


# --- only anonymous answers: no share anywhere --------------------------------------------------------


def test_it_gives_no_share_for_a_scope_of_anonymous_answers_only(hushed):
    report = nps_report(period=Q2, survey=hushed)

    assert report.counts.detractors == 1
    assert report.revenue_share is None
    assert nps_report(period=Q2).revenue_share is None  # the whole series: the same answers
    assert nps_report(period=Q2, segment="SMB").revenue_share is None


def test_the_api_gives_a_null_share(api_client_as, hushed):
    response = api_client_as("viewer").get("/api/reports/nps/", {"period": "2025-Q2", "survey": hushed.pk})

    assert response.status_code == 200
    data = response.json()
    assert data["responses"] == 1
    assert "revenue_share_of_respondents" in data and data["revenue_share_of_respondents"] is None


@pytest.mark.parametrize("table", FIGURE_TABLES)
def test_every_csv_table_leaves_the_share_empty(client_as, hushed, table):
    rows = download(client_as("viewer"), survey=hushed.pk, table=table)

    key = {"trend": "period", "sample": "period", "segments": "segment", "touchpoints": "touchpoint",
           "surveys": "survey"}[table]
    row = next(row for row in rows if row[key] in ("2025-Q2", "SMB", "web", "Hushed"))
    assert row["responded"] == "1"
    assert row["revenue_share_of_respondents"] == ""


def test_the_page_shows_the_share_as_not_available(client_as, hushed):
    response = client_as("viewer").get(URL, {"period": "2025-Q2", "survey": hushed.pk})

    assert "<dt>Revenue held by respondents</dt><dd>n/a</dd>" in response.content.decode()
    dashboard = response.context["dashboard"]
    samples = [sample for _, _, sample in dashboard.trend if sample.responded]
    samples += [sample for rows in dashboard.breakdowns.values() for _, _, sample in rows]
    assert samples and {sample.revenue_share for sample in samples} == {None}  # each table's cell: –


def test_a_group_invited_but_silent_still_holds_none_of_the_revenue(people):
    quiet = SurveyFactory(name="Quiet", kind=SurveyKind.RELATIONSHIP, anonymous=True)
    InvitationFactory(survey=quiet, customer=people["alice"], sent_at=WHEN, touchpoint="web")

    assert nps_report(period=Q2, survey=quiet).revenue_share is None  # nobody answered: no share, as for a named survey


# --- named answers beside anonymous ones: only the named count ------------------------------------------


def test_the_headline_counts_only_the_named_respondents(named):
    report = nps_report(period=Q2)

    assert report.counts.responses == 2  # Bob's anonymous 0 still counts in the NPS
    assert report.revenue_share == D("0.1")  # Alice's 100, not Alice's and Bob's 300


def test_the_trend_counts_only_the_named_respondents_in_one_query(named, django_assert_num_queries):
    with django_assert_num_queries(1):
        shares = revenue_share_trend(periods=[parse_period("2025-Q1"), Q2])

    assert shares == [None, D("0.1")]


def test_each_breakdown_row_counts_only_the_named_respondents_in_one_statement(named, django_assert_num_queries):
    with django_assert_num_queries(3):
        by_survey = revenue_share_breakdown(period=Q2, by="survey", groups=["Named", "Hushed"])
        by_segment = revenue_share_breakdown(period=Q2, by="segment", groups=["SMB"])
        by_touchpoint = revenue_share_breakdown(period=Q2, by="touchpoint", groups=["web"])

    assert by_survey == {"Named": D("0.1"), "Hushed": None}
    assert by_segment == {"SMB": D("0.1")}
    assert by_touchpoint == {"web": D("0.1")}


def test_an_anonymous_respondent_who_moved_on_is_not_in_the_segments_revenue(named, people):
    """A segment's revenue is its customers' now plus its respondents' who moved on: with Bob
    (anonymous, in SMB when he answered) among the latter, SMB's 800 would grow by his 200."""
    people["bob"].segment = "Enterprise"
    people["bob"].save()

    assert nps_report(period=Q2, segment="SMB").revenue_share == D("0.125")  # 100 of Alice and Charlie's 800
    assert revenue_share_breakdown(period=Q2, by="segment", groups=["SMB"]) == {"SMB": D("0.125")}
