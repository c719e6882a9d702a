"""Mutation audit (web pages, reports): how the report pages format figures, name their CSV
downloads, fill an emptied form field, number their footnotes and word the recompute message."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from reports.models import ReportSnapshot
from reports.templatetags.report_format import percent as percent_filter
from reports.views import percent
from surveys.models import SurveyKind
from tests.factories import CustomerFactory, SurveyFactory, pay, reason

pytestmark = pytest.mark.django_db

D = Decimal
EARNED_GROWTH = reverse("reports:earned-growth")
RECOMPUTE = reverse("reports:earned-growth-recompute")


@pytest.fixture(autouse=True)
def late_2026():
    """The periods used here (2023 to 2025) are recent: a page view computes them by itself."""
    with time_machine.travel(dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC), tick=True):
        yield


def _filename(response) -> str:
    assert response.status_code == 200, response.content
    return response["Content-Disposition"].split('filename="', 1)[1].rstrip('"')


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


# --- formatting of figures ------------------------------------------------------------------------


def test_a_rate_that_rounds_to_zero_is_shown_0_0_never_minus_0_0():
    """The earned-growth page shows a rate of -0.04 % as "0.0%", not "-0.0%"; a rate that rounds
    away from zero keeps its sign (half away from zero)."""
    assert percent(D("-0.0004")) == "0.0%"
    assert percent(D("-0.0005")) == "-0.1%"
    assert percent(D("0.0005")) == "0.1%"
    assert percent(None) is None


def test_the_percent_filter_rounds_half_away_from_zero():
    """The survey pages' and NPS page's rates (`|percent`) round a half up, as the dashboards do:
    1 response of 400 delivered is 0.25 %, shown 0.3, not the 0.2 half-to-even rounding gives."""
    assert percent_filter(D(1) / D(400)) == "0.3"
    assert percent_filter(D("0.0005")) == "0.1"
    assert percent_filter(D("0.125")) == "12.5"


# --- the earned-growth form -----------------------------------------------------------------------


def test_an_emptied_period_field_falls_back_to_the_default_period(client_as):
    """A person who clears the period (or the comparison) and submits gets the default, as when
    the field is absent, not a 400 "this field is required"."""
    page = client_as("viewer").get(EARNED_GROWTH, {"period": "", "compare": "", "grain": ""})

    assert page.status_code == 200
    assert str(page.context["params"].period) == "2026-Q3"  # the last complete quarter on 2026-11-29
    assert page.context["params"].compare == "prior"


def test_a_period_that_starts_today_can_be_shown(client_as):
    """On the first day of a quarter the running quarter has started: it is shown, not refused as
    "has not started yet"."""
    with time_machine.travel(dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC), tick=False):
        assert client_as("viewer").get(EARNED_GROWTH, {"period": "2026-Q4"}).status_code == 200
        assert client_as("viewer").get(EARNED_GROWTH, {"period": "2027"}).status_code == 400


def test_a_null_figures_footnote_is_numbered_from_1_and_its_link_reaches_it(client_as, company_a,
                                                                           django_capture_on_commit_callbacks):
    """2024 against 2023 (no revenue): the prior column's rates are "—" with footnote 1, whose link
    points at the footnote's own id on the page."""
    client = client_as("viewer")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(EARNED_GROWTH, {"period": "2025"})
    page = client.get(EARNED_GROWTH, {"period": "2025"})

    nrr = next(row for row in page.context["headline"] if row["key"] == "nrr")["prior"]
    assert nrr.value is None and (nrr.note, nrr.note_id) == (1, "headline-note-1")
    html = page.content.decode()
    assert 'href="#headline-note-1"' in html and 'id="headline-note-1"' in html


def test_a_recompute_of_one_other_period_says_period_in_the_singular(client_as, company_a,
                                                                    django_capture_on_commit_callbacks):
    """The recompute message counts the other periods it asked for: "and 1 other period"."""
    client = client_as("analyst")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(EARNED_GROWTH, {"period": "2025"})
    ReportSnapshot.objects.filter(period="2023").delete()  # one period of the trend missing

    response = client.post(RECOMPUTE, {"period": "2025", "compare": "prior", "grain": "entity"}, follow=True)

    assert [str(message) for message in response.context["messages"]] == [
        "Recompute of 2025 and 1 other period requested: the figures update when it is done."
    ]


# --- CSV download names ---------------------------------------------------------------------------


def test_an_earned_growth_csv_of_a_segment_without_a_latin_slug_still_names_a_segment(client_as):
    """A segment whose name slugifies to nothing ("日本") is named "segment" in the file name, so the
    file still says it is one segment's figures, not a malformed "...-entity-.csv"."""
    pay(CustomerFactory(segment="日本", reason=reason("recommendation")), "2025-02-01", "10.00")

    response = client_as("viewer").get(
        EARNED_GROWTH, {"period": "2025", "segment": "日本", "format": "csv", "table": "bridge"}
    )

    assert _filename(response) == "earned-growth-bridge-2025-prior-entity-segment.csv"


def test_the_cohort_csv_names_its_grain(client_as):
    """Two downloads of one cohort table at the two grains must not share a file name."""
    client = client_as("viewer")
    url = "/reports/cohorts/"

    by_customer = client.get(url, {"format": "csv", "table": "value", "grain": "customer"})
    by_entity = client.get(url, {"format": "csv", "table": "value", "by": "month"})

    assert _filename(by_customer) == "cohorts-value-quarter-customer.csv"
    assert _filename(by_entity) == "cohorts-value-month-entity.csv"


def test_the_referrals_csv_names_its_period(client_as):
    """The referrals download for a period is named after it; without one, plain referrals.csv."""
    client = client_as("viewer")
    url = "/reports/referrals/"

    assert _filename(client.get(url, {"format": "csv", "period": "2025-Q2"})) == "referrals-2025-Q2.csv"
    assert _filename(client.get(url, {"format": "csv"})) == "referrals.csv"


# --- the NPS page ---------------------------------------------------------------------------------


def test_choosing_a_transactional_survey_reports_its_series(client_as):
    """A survey picked without a series reports the survey's own series (transactional here), and
    its CSV is named after it, not after the relationship default."""
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    client = client_as("viewer")
    url = reverse("reports:nps")

    page = client.get(url, {"period": "2025", "survey": survey.pk})
    download = client.get(url, {"period": "2025", "survey": survey.pk, "format": "csv", "table": "sample"})

    assert page.status_code == 200 and page.context["params"].survey_type == SurveyKind.TRANSACTIONAL
    assert _filename(download) == "nps-sample-2025-transactional-all.csv"


def test_the_loyalty_csv_says_it_counts_each_customers_latest_answer(client_as):
    """Loyalty economics count each customer's latest answer whatever the page's counting rule:
    the CSV's counting column says "latest" even on the page counting every answer."""
    response = reverse("reports:nps")
    download = client_as("viewer").get(response, {"period": "2025", "format": "csv", "table": "loyalty",
                                                  "counting": "all"})

    rows = _csv(download)
    assert rows[1:], "the loyalty table has a row per category"
    counting = rows[0].index("counting")
    assert {row[counting] for row in rows[1:]} == {"latest"}


def test_the_last_day_of_a_period_is_still_in_progress(client_as):
    """On a period's last day the NPS page still says the period is in progress."""
    with time_machine.travel(dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC), tick=False):
        page = client_as("viewer").get(reverse("reports:nps"), {"period": "2026-Q4"})

    assert page.status_code == 200 and page.context["in_progress"] is True
