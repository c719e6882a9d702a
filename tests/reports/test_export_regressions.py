"""CSV exports and the integrity flag: what an export may quote, its times, its encoding, its name."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from reports.csv_export import csv_cell, csv_datetime
from reports.integrity import integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.models import InvitationState
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay, reason

pytestmark = pytest.mark.django_db

NPS_URL = "/reports/nps/"
PARIS = "Europe/Paris"
# 00:30 on 1 July in Paris, still 30 June in UTC.
JUST_AFTER_MIDNIGHT = dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC)
SOLICITED_SECRET = "The salesman asked me to give a 10, so I did. Secret remark."
SOLICITED_NAMED = "They told me to rate them 10, named answer."


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _answer(survey, customer, score, when, **extra):
    invitation = InvitationFactory(
        survey=survey,
        customer=customer,
        state=InvitationState.RESPONDED,
        sent_at=when,
        touchpoint=extra.get("touchpoint", ""),
    )
    return ResponseFactory(invitation=invitation, score=score, answered_at=when, **extra)


# --- The integrity flag quotes no anonymous verbatim under a segment or touchpoint filter ---------


@pytest.fixture
def anonymous_solicited():
    """An anonymous survey's answer, in a segment of one customer, that says it was asked for a 10."""
    survey = SurveyFactory(name="Anonymous pulse", anonymous=True)
    solo = CustomerFactory(name="Only One", segment="Solo Ltd")
    _answer(survey, solo, 10, dt.datetime(2025, 6, 10, tzinfo=dt.UTC), reason=SOLICITED_SECRET, touchpoint="kiosk")
    return survey


def test_the_flag_on_the_page_never_ties_an_anonymous_verbatim_to_the_filtered_segment(client_as, anonymous_solicited):
    query = {"period": "2025-Q2", "survey": anonymous_solicited.pk, "segment": "Solo Ltd"}
    client = client_as("admin")

    html = client.get(NPS_URL, query).content.decode()
    verbatims = html.split('id="verbatims-title"')[1]
    assert "Secret remark" not in verbatims  # the dashboard's own verbatims hide it
    assert len(csv_rows(client.get(NPS_URL, {**query, "format": "csv", "table": "verbatims"}))) == 1
    integrity = html.split('id="integrity-title"')[1].split('id="trend-title"')[0]
    assert "Secret remark" not in integrity
    assert "1 verbatim(s) say the customer was asked" in integrity  # still counted


def test_the_integrity_csv_never_ties_an_anonymous_verbatim_to_the_filtered_segment(client_as, anonymous_solicited):
    query = {
        "period": "2025-Q2",
        "survey": anonymous_solicited.pk,
        "segment": "Solo Ltd",
        "format": "csv",
        "table": "integrity",
    }
    rows = csv_rows(client_as("admin").get(NPS_URL, query))
    assert not any("Secret remark" in cell for row in rows for cell in row), rows


def test_the_flag_counts_anonymous_matches_but_quotes_only_named_ones_under_a_touchpoint(anonymous_solicited):
    named = SurveyFactory(name="Named pulse")
    _answer(
        named,
        CustomerFactory(),
        10,
        dt.datetime(2025, 6, 11, tzinfo=dt.UTC),
        reason=SOLICITED_NAMED,
        touchpoint="kiosk",
    )

    flags = {f.code: f for f in integrity_flags(nps_report(period=parse_period("2025-Q2"), touchpoint="kiosk"))}

    flag = flags["solicited_scores"]
    assert flag.raised and flag.detail.startswith("2 verbatim(s)")
    assert "anonymous surveys are counted, not listed" in flag.detail
    assert [label for label, _ in flag.links] == [f"Score 10: “{SOLICITED_NAMED}”"]


def test_without_a_segment_or_touchpoint_the_flag_still_quotes_an_anonymous_verbatim(anonymous_solicited):
    """Unfiltered, the excerpt ties the answer to nobody: the dashboard's verbatims show it too."""
    flags = {f.code: f for f in integrity_flags(nps_report(period=parse_period("2025-Q2")))}
    assert any("Secret remark" in label for label, _ in flags["solicited_scores"].links)


# --- Export times are the company's (TIME_ZONE), as the pages, filters and periods ----------------


@pytest.fixture
def in_paris():
    with override_settings(TIME_ZONE=PARIS), timezone.override(PARIS):
        yield


@pytest.fixture
def paris_midnight_answer(in_paris):
    followed_up = JUST_AFTER_MIDNIGHT + dt.timedelta(days=1)
    return _answer(
        SurveyFactory(name="Pulse"),
        CustomerFactory(),
        3,
        JUST_AFTER_MIDNIGHT,
        reason="late night",
        followed_up_at=followed_up,
    )


def test_the_response_export_shows_the_day_the_filter_and_the_list_use(client_as, paris_midnight_answer):
    client = client_as("analyst")
    one_day = {"date_from": "2025-07-01", "date_to": "2025-07-01"}
    page = client.get(reverse("surveys:response-list"), one_day).content.decode()
    assert "2025-07-01 00:30" in page  # the list: local time, inside the filtered day

    rows = csv_rows(client.get(reverse("surveys:response-export"), one_day))

    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["answered_at"] == "2025-07-01T00:30:00+02:00"
    assert row["followed_up_at"] == "2025-07-02T00:30:00+02:00"


def test_the_nps_verbatims_csv_dates_fall_in_the_reported_period(client_as, paris_midnight_answer):
    rows = csv_rows(client_as("viewer").get(NPS_URL, {"period": "2025-07", "format": "csv", "table": "verbatims"}))
    assert len(rows) == 2
    assert rows[1][0] == "2025-07-01T00:30:00+02:00"  # July's verbatim, not "2025-06-30T22:30:00+00:00"


def test_the_earned_growth_trend_csv_gives_computed_at_in_local_time(
    client_as, in_paris, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(reason=reason("recommendation"))
    pay(customer, "2024-03-01", "100.00")
    pay(customer, "2025-03-01", "120.00")
    query = {"period": "2025", "format": "csv", "table": "trend"}
    client = client_as("viewer")
    with time_machine.travel(dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            client.get(reverse("reports:earned-growth"), {"period": "2025"})  # computes the snapshots
        rows = csv_rows(client.get(reverse("reports:earned-growth"), query))

    by_period = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_period["2025"]["computed_at"] == "2026-01-16T00:30:00+01:00"


def test_csv_datetime_writes_the_local_time_with_its_offset_and_nothing_for_none(in_paris):
    assert csv_datetime(JUST_AFTER_MIDNIGHT) == "2025-07-01T00:30:00+02:00"
    assert csv_datetime(None) == ""
    assert csv_cell(JUST_AFTER_MIDNIGHT) == "2025-07-01T00:30:00+02:00"  # a datetime handed in as is


# --- Non-ASCII names: a UTF-8 byte order mark, so Excel does not read the file as ANSI -------------


def test_csv_exports_start_with_a_utf8_bom_so_spreadsheets_read_non_ascii_names(client_as):
    """Excel opens a double-clicked .csv in the system's ANSI code page unless it starts with a
    UTF-8 BOM: "Zoë 日本" would read "ZoÃ« æ—¥æœ¬"."""
    _answer(SurveyFactory(name="Pulse"), CustomerFactory(name="Zoë 日本"), 9, dt.datetime(2025, 6, 10, tzinfo=dt.UTC))
    response = client_as("analyst").get(reverse("surveys:response-export"))
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\xef\xbb\xbf") == 1
    assert "Zoë 日本".encode() in raw


# --- A segment whose name slugifies to nothing still names the cohort download -------------------


@time_machine.travel(dt.datetime(2025, 6, 15, 12, tzinfo=dt.UTC), tick=False)
def test_the_cohort_csv_of_a_segment_without_latin_letters_is_named_like_earned_growths(client_as):
    CustomerFactory(segment="日本", acquired_on=dt.date(2024, 1, 15), reason=reason("recommendation"))

    response = client_as("viewer").get("/reports/cohorts/", {"format": "csv", "table": "retention", "segment": "日本"})

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('-segment.csv"'), response["Content-Disposition"]
