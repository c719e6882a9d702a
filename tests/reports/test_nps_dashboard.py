"""The NPS dashboard: every section renders, every table downloads, roles, no identity leaks."""

import csv
import datetime as dt
import io
from decimal import Decimal as D

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
    body = b"".join(response.streaming_content).decode("utf-8-sig")
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
    assert "'=HYPERLINK" in b"".join(response.streaming_content).decode("utf-8-sig")


def test_a_bad_period_is_explained(client_as):
    response = client_as("viewer").get(URL, {"period": "someday"})
    assert response.status_code == 400 and "is not a period" in response.content.decode()


def test_anonymous_users_log_in_first(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# SPEC §5: every NPS figure carries its sample, the breakdowns' and the trend's too.
@pytest.fixture
def sampled():
    """Web: 6 answers of 10 delivered, 2 of them bounced besides. Shop: 3 delivered, no answer."""
    survey = SurveyFactory(name="Quarterly pulse")
    for score in (10, 9, 8, 7, 7, 3):
        invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN, touchpoint="web")
        ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, touchpoint="web")
    for _ in range(4):
        InvitationFactory(survey=survey, state=InvitationState.SENT, sent_at=WHEN, touchpoint="web")
    InvitationFactory.create_batch(2, survey=survey, state=InvitationState.BOUNCED, sent_at=WHEN, touchpoint="web")
    InvitationFactory.create_batch(3, survey=survey, state=InvitationState.SENT, sent_at=WHEN, touchpoint="shop")
    return survey


def test_each_breakdown_row_carries_its_sample(sampled, client_as):
    page = client_as("viewer").get(URL, {"period": "2025-Q2"})

    breakdown = page.context["dashboard"].breakdowns["touchpoint"]
    rows = {name: (counts.responses, sample) for name, counts, sample in breakdown}
    web_answers, web = rows["web"]
    assert (web_answers, web.invited, web.delivered, web.bounced, web.responded) == (6, 12, 10, 2, 6)
    assert web.response_rate == D("0.6")
    shop_answers, shop = rows["shop"]  # invited, nobody answered: shown, not left out
    assert (shop_answers, shop.delivered, shop.response_rate) == (0, 3, 0)


def test_each_trend_period_carries_its_sample(sampled, client_as):
    page = client_as("viewer").get(URL, {"period": "2025-Q2"})

    trend = {str(period): (counts.responses, sample) for period, counts, sample in page.context["dashboard"].trend}
    assert trend["2025-Q2"][0] == 6 and trend["2025-Q2"][1].delivered == 13
    assert trend["2025-Q1"][1].invited == 0 and trend["2025-Q1"][1].response_rate is None


def test_the_breakdown_csv_has_the_sample_columns(sampled, client_as):
    response = client_as("viewer").get(URL, {"period": "2025-Q2", "format": "csv", "table": "touchpoints"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    by_name = {row["touchpoint"]: row for row in rows}
    web = by_name["web"]
    assert (web["delivered"], web["responded"], web["response_rate"]) == ("10", "6", "0.6000")
    assert (by_name["shop"]["responses"], by_name["shop"]["delivered"]) == ("0", "3")
