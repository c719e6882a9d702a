"""The revenue held by respondents where nobody answered: no share (null, n/a, –, empty cell), as
the response rate where nothing was delivered, never "0.0 % of the period's revenue" beside an NPS
of n/a. A respondent who holds no revenue still holds 0 %."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from reports.fingerprints import NPS_METHOD
from reports.models import SnapshotKind
from reports.nps import nps_report, revenue_share_breakdown, revenue_share_trend
from reports.periods import parse_period
from reports.snapshots import snapshot_is_stale, snapshot_request
from surveys.models import InvitationState
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q1, Q2 = parse_period("2025-Q1"), parse_period("2025-Q2")
URL = "/reports/nps/"


@pytest.fixture
def silent():
    """Q2: 120.00 of revenue, one invitation delivered to its customer, no answer."""
    customer = CustomerFactory(segment="SMB")
    pay(customer, "2025-05-20", "120.00")
    survey = SurveyFactory(name="Pulse")
    InvitationFactory(survey=survey, customer=customer, state=InvitationState.SENT, sent_at=WHEN, touchpoint="web")
    return survey


def test_nobody_answered_no_share(silent):
    report = nps_report(period=Q2)

    assert report.counts.responses == 0 and report.sample.response_rate == 0
    assert report.revenue_share is None
    assert report.as_json()["revenue_share_of_respondents"] is None


def test_the_api_and_the_command_give_null(silent, api_client_as):
    api = api_client_as("viewer").get("/api/reports/nps/", {"period": "2025-Q2"}).json()
    out = io.StringIO()
    call_command("nps", "2025-Q2", "--json", stdout=out)

    assert api["revenue_share_of_respondents"] is None
    assert '"revenue_share_of_respondents": null' in out.getvalue()


def test_the_page_says_n_a_and_the_csv_leaves_the_cell_empty(silent, client_as):
    client = client_as("viewer")
    html = client.get(URL, {"period": "2025-Q2"}).content.decode()
    response = client.get(URL, {"period": "2025-Q2", "format": "csv", "table": "sample"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert "<dt>Revenue held by respondents</dt><dd>n/a</dd>" in html
    assert "0.0% of the period's revenue" not in html
    trend_q2 = re.search(r'<th scope="row" class="nowrap">2025-Q2</th>(.*?)</tr>', html, re.S).group(1)
    assert trend_q2.endswith('<td class="num">0.0%</td><td class="num">–</td>')  # response rate, revenue held
    assert rows[0]["revenue_share_of_respondents"] == ""


def test_a_trend_period_without_answers_has_no_share(silent):
    pay(CustomerFactory(), "2025-02-01", "50.00")  # Q1: revenue, no invitation, no answer
    assert revenue_share_trend(periods=[Q1, Q2]) == [None, None]


def test_a_breakdown_row_invited_but_silent_has_no_share(silent):
    respondent = CustomerFactory(segment="SMB")
    invitation = InvitationFactory(survey=silent, customer=respondent, state=InvitationState.RESPONDED, sent_at=WHEN,
                                   touchpoint="shop")
    ResponseFactory(invitation=invitation, score=9, answered_at=WHEN, touchpoint="shop")
    pay(respondent, "2025-05-21", "80.00")

    shares = revenue_share_breakdown(period=Q2, by="touchpoint", groups=["shop", "web"])

    assert shares == {"shop": D(80) / 200, "web": None}


def test_a_respondent_without_revenue_still_holds_zero(silent):
    invitation = InvitationFactory(survey=silent, state=InvitationState.RESPONDED, sent_at=WHEN)
    ResponseFactory(invitation=invitation, score=9, answered_at=WHEN)

    assert nps_report(period=Q2).revenue_share == 0


def test_snapshots_computed_before_read_stale(silent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: computed on commit
        snapshot = snapshot_request(kind=SnapshotKind.NPS, period="2025-Q2")
    snapshot.refresh_from_db()
    assert snapshot.figures["revenue_share_of_respondents"] is None and not snapshot_is_stale(snapshot)

    snapshot.fingerprint = {**snapshot.fingerprint, "method": NPS_METHOD - 1}  # stored with a 0.0 share

    assert NPS_METHOD >= 3 and snapshot_is_stale(snapshot)
