"""What the NPS dashboard opens on without a period in the URL, and its links to the previous and
next period. On day one a company's only answers are in the running quarter, while the default is
the last complete one (shared with earned growth, which keeps it)."""

import datetime as dt
import re

import pytest
import time_machine

from reports import selectors
from reports.periods import parse_period
from surveys.models import InvitationState, SurveyKind
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
TODAY = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)  # 2026-Q4 running; the last complete quarter is 2026-Q3
URL = "/reports/nps/"
LAST_COMPLETE, RUNNING = "2026-Q3", "2026-Q4"


def answer(when, score=9, kind=SurveyKind.RELATIONSHIP):
    survey = SurveyFactory(kind=kind)
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=when)
    return ResponseFactory(invitation=invitation, score=score, answered_at=when)


def page(client, **query) -> str:
    return client.get(URL, query).content.decode()


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<span class="period-nav">(.*?)</span>', html, re.S)
    return re.findall(r'href="\?([^"]*)"', nav.group(1)) if nav else []


@time_machine.travel(TODAY, tick=False)
def test_it_opens_on_the_running_quarter_when_only_it_has_answers(client, viewer):
    answer(TODAY)
    client.force_login(viewer)

    response = client.get(URL)

    html = response.content.decode()
    assert str(response.context["params"].period) == RUNNING
    assert "No answers in this period." not in html and '<p class="nps-big">100</p>' in html
    assert "the quarter in progress" in html and "(in progress)" in html
    assert f'<a href="?period={LAST_COMPLETE}">Show {LAST_COMPLETE}</a>' in html  # the default, one click away
    assert f'value="{RUNNING}"' in html  # the form shows the period the page shows


@time_machine.travel(TODAY, tick=False)
def test_it_opens_on_the_last_complete_quarter_when_it_has_answers(client, viewer):
    answer(dt.datetime(2026, 8, 10, tzinfo=dt.UTC))
    answer(TODAY)
    client.force_login(viewer)

    response = client.get(URL)

    assert str(response.context["params"].period) == LAST_COMPLETE
    assert "the quarter in progress" not in response.content.decode()


@time_machine.travel(TODAY, tick=False)
def test_a_period_asked_for_is_shown_even_when_empty_with_links_to_its_neighbours(client, viewer):
    answer(TODAY)
    client.force_login(viewer)

    html = page(client, period=LAST_COMPLETE)

    assert "No answers in this period." in html
    assert nav_links(html) == ["period=2026-Q2", f"period={RUNNING}"]


@time_machine.travel(TODAY, tick=False)
def test_the_period_links_keep_the_filters_and_never_reach_the_future(client, viewer):
    client.force_login(viewer)

    html = page(client, period=RUNNING, counting="latest", touchpoint="web")

    assert nav_links(html) == ["period=2026-Q3&amp;counting=latest&amp;touchpoint=web"]  # no 2027-Q1
    assert nav_links(page(client, period="2026-12")) == ["period=2026-11"]  # the running month: no 2027-01
    assert nav_links(page(client, period="1900-Q1")) == ["period=1900-Q2"]  # 1899 is no period


@time_machine.travel(TODAY, tick=False)
def test_the_opening_follows_the_series_shown(client, viewer):
    answer(dt.datetime(2026, 8, 10, tzinfo=dt.UTC), kind=SurveyKind.TRANSACTIONAL)
    answer(TODAY, kind=SurveyKind.RELATIONSHIP)
    client.force_login(viewer)

    assert str(client.get(URL).context["params"].period) == RUNNING
    assert str(client.get(URL, {"type": "transactional"}).context["params"].period) == LAST_COMPLETE


@time_machine.travel(TODAY, tick=False)
def test_a_download_without_a_period_is_of_the_period_the_page_shows(client, viewer):
    answer(TODAY)
    client.force_login(viewer)

    html = page(client)
    response = client.get(URL, {"format": "csv", "table": "sample"})

    assert f"period={RUNNING}&amp;format=csv&amp;table=sample" in html
    assert f"nps-sample-{RUNNING}-" in response["Content-Disposition"]


@time_machine.travel(TODAY, tick=False)
def test_choosing_the_opening_costs_one_query(django_assert_num_queries):
    answer(TODAY)
    with django_assert_num_queries(1):
        opening = selectors.nps_opening(survey_type=SurveyKind.RELATIONSHIP)
    assert (str(opening.period), str(opening.instead_of)) == (RUNNING, LAST_COMPLETE)


@time_machine.travel(TODAY, tick=False)
def test_with_no_answer_anywhere_it_stays_on_the_last_complete_quarter():
    opening = selectors.nps_opening(survey_type=SurveyKind.RELATIONSHIP)
    assert opening.period == parse_period(LAST_COMPLETE) and opening.instead_of is None


def test_the_shared_default_stays_the_last_complete_quarter():
    """Earned growth opens there whatever the NPS dashboard does."""
    assert str(selectors.default_period(dt.date(2026, 12, 1))) == LAST_COMPLETE


@pytest.mark.parametrize("period", ["2027-Q1", "2027", "2027-01"])
def test_a_future_period_is_not_said_to_be_in_progress(client, viewer, period):
    """A period not begun yet (parse_period takes years up to 2999) read "(in progress)"."""
    with time_machine.travel(TODAY, tick=False):
        client.force_login(viewer)
        response = client.get("/reports/nps/", {"period": period})
        html = response.content.decode()

    assert response.status_code == 200
    assert "is in progress" not in html and "(in progress)" not in html
