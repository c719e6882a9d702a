"""NPS reports (SPEC §5) and CSV exports: the change between periods, the distribution chart's
colours, integrity flags that must stay down, a segment named on the command line, and formula
quoting of cells that are not plain strings. Each test pins a behaviour a mutation audit found no
test for."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.safestring import SafeString

from reports.csv_export import csv_cell
from reports.integrity import integrity_flags
from reports.nps import nps_report
from reports.nps_dashboard import COLORS, NpsParams, nps_dashboard
from reports.periods import parse_period
from surveys.models import AudienceKind, InvitationState, Launch, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")


def answer(survey, score, when=WHEN, **extra):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=when,
                                   touchpoint=extra.get("touchpoint", ""))
    return ResponseFactory(invitation=invitation, score=score, answered_at=when, **extra)


def flags(**filters):
    return {flag.code: flag for flag in integrity_flags(nps_report(period=Q2, **filters))}


@pytest.fixture
def survey():
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="cx@example.com")


def test_the_dashboard_change_is_this_period_minus_the_prior_one(survey):
    """NPS rose from -100 (Q1, all detractors) to +100 (Q2, all promoters): the dashboard's change
    reads +200 points, not -200."""
    for _ in range(40):
        answer(survey, 2, when=dt.datetime(2025, 2, 10, tzinfo=dt.UTC))
        answer(survey, 10)

    dashboard = nps_dashboard(NpsParams(period=Q2))

    assert (dashboard.prior.counts.nps, dashboard.current.counts.nps) == (-100, 100)
    assert dashboard.change.difference == 200 and dashboard.change.significant


def test_the_distribution_chart_colours_6_as_a_detractor_and_7_as_a_passive(survey):
    """The 0–10 bars take the colour of their category (SPEC §4: detractor 0–6, passive 7–8,
    promoter 9–10)."""
    answer(survey, 6)

    [bars] = nps_dashboard(NpsParams(period=Q2)).charts["distribution"]["data"]
    colors = bars["marker"]["color"]

    assert colors[:7] == [COLORS["detractor"]] * 7
    assert colors[7:9] == [COLORS["passive"]] * 2
    assert colors[9:] == [COLORS["promoter"]] * 2


def test_answers_without_a_touchpoint_are_never_flagged_as_a_clustering_touchpoint(survey):
    """Relationship answers have no touchpoint: however far their 9–10 share stands above the
    touchpoints', they are no touchpoint, and no "Touchpoint : 100% promoters" is raised."""
    for _ in range(40):
        answer(survey, 10)  # no touchpoint
    for n in range(40):
        answer(survey, n % 7, touchpoint="web")  # 0..6: detractors

    flag = flags()["touchpoint_clustering"]

    assert not flag.raised and flag.links == []


def test_a_hand_picked_launch_of_a_transactional_survey_does_not_flag_the_relationship_series(survey):
    """Series are never mixed (SPEC §5): a list launch of a transactional survey flags its own
    series, not the relationship one."""
    other = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    Launch.objects.create(survey=other, audience=AudienceKind.LIST, launched_at=WHEN, audience_size=5)

    assert not flags()["hand_picked"].raised
    assert flags(survey_type=SurveyKind.TRANSACTIONAL)["hand_picked"].raised


def test_a_report_on_one_survey_is_not_flagged_for_another_surveys_hand_picked_launch(survey):
    other = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    Launch.objects.create(survey=other, audience=AudienceKind.LIST, launched_at=WHEN, audience_size=5)

    assert not flags(survey=survey)["hand_picked"].raised
    assert flags(survey=other)["hand_picked"].raised


def test_the_nps_command_accepts_a_segment_of_customers_nobody_has_surveyed_yet():
    """A segment some customer is in is a real segment: its report reads zero answers instead of
    being refused as a typo."""
    CustomerFactory(segment="Enterprise")
    out = StringIO()

    call_command("nps", "2025-Q2", "--segment", "Enterprise", "--json", stdout=out)

    assert json.loads(out.getvalue())["responses"] == 0


class Label:
    """Not a string, shown as text (a model instance, a lazy label)."""

    def __str__(self):
        return "+cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", [SafeString('=HYPERLINK("http://x.example")'), Label()],
                         ids=["str subclass", "object"])
def test_a_cell_that_is_not_a_plain_string_is_quoted_when_it_reads_as_a_formula(value):
    """A str subclass (a template's safe string, a choices label) or any object shown as text gets
    the same leading quote as a plain string: a spreadsheet must not run it (OWASP CSV injection)."""
    assert csv_cell(value) == "'" + str(value)
