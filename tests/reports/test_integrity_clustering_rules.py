"""The clustering flags' rules (reports/integrity.py): the size of the rest of the series, who
counts as a sender, and where a flagged touchpoint links to."""

import datetime as dt
import re

import pytest

from reports.integrity import integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.models import InvitationState, SurveyKind
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")


def answer(survey, score, touchpoint=""):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN, touchpoint=touchpoint)
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, touchpoint=touchpoint)


def flags():
    return {flag.code: flag for flag in integrity_flags(nps_report(period=Q2))}


@pytest.fixture
def survey():
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP)


@pytest.mark.parametrize(("rest", "raised"), [(9, False), (10, True), (29, True)])
def test_a_touchpoint_far_above_the_rest_needs_10_answers_in_the_rest(survey, rest, raised):
    for _ in range(100):
        answer(survey, 10, "store-12")
    for _ in range(rest):
        answer(survey, 3, "web")  # no promoter: 100 points below, z over 10
    assert flags()["touchpoint_clustering"].raised is raised


def test_the_default_sender_is_judged_like_any_other(settings):
    settings.DEFAULT_FROM_EMAIL = "Acme <cx@acme.example>"
    unnamed = SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="")
    named_default = SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="cx@acme.example")
    other = SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="sales@example.com")
    for _ in range(20):  # one sender: both go out from cx@acme.example
        answer(unnamed, 10)
        answer(named_default, 10)
    for n in range(120):
        answer(other, n % 9)  # scores 0..8: no promoters
    flag = flags()["sender_email_clustering"]
    assert flag.raised
    assert [label for label, _ in flag.links] == ["Sender cx@acme.example: 100% promoters of 40"]


def listed_pks(page) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/responses/(\d+)/[?"]', page.content.decode())}


def test_an_anonymous_touchpoint_links_to_its_nps_not_to_an_unfiltered_list(client_as, survey):
    # The response list never filters by an anonymous survey's touchpoint (it would name the
    # authors): it would drop the filter and list every answer, the web's among them.
    anonymous = SurveyFactory(kind=SurveyKind.RELATIONSHIP, anonymous=True)
    for _ in range(40):
        answer(anonymous, 10, "kiosk")
    web = {answer(survey, n % 9, "web").pk for n in range(60)}  # scores 0..8: no promoter
    flag = flags()["touchpoint_clustering"]
    (label, url), = flag.links
    assert label == "Touchpoint kiosk: 100% promoters of 40"
    assert url.startswith("/reports/nps/?") and "touchpoint=kiosk" in url and "period=2025-Q2" in url
    assert "anonymous surveys are counted, not listed" in flag.detail
    page = client_as("admin").get(url)
    assert page.status_code == 200
    assert page.context["dashboard"].current.counts.responses == 40  # the kiosk's answers, counted
    assert not listed_pks(page) & web


def test_a_touchpoint_with_named_answers_links_to_them(client_as, survey):
    anonymous = SurveyFactory(kind=SurveyKind.RELATIONSHIP, anonymous=True)
    for _ in range(35):
        answer(anonymous, 10, "kiosk")
    named = {answer(survey, 10, "kiosk").pk for _ in range(5)}
    for n in range(60):
        answer(survey, n % 9, "web")
    (label, url), = flags()["touchpoint_clustering"].links
    assert url.startswith("/responses/?") and "touchpoint=kiosk" in url
    assert listed_pks(client_as("admin").get(url)) == named  # the named ones: the filter applies


def test_the_suspects_are_listed_by_name(survey):
    """In the grouping's own order they moved between two views (a hash's order on PostgreSQL)."""
    for touchpoint in ("store-9", "store-1", "store-5"):
        for _ in range(40):
            answer(survey, 10, touchpoint)
    for n in range(120):
        answer(survey, n % 9, "web")
    flag = flags()["touchpoint_clustering"]
    assert [label.split(":")[0] for label, _ in flag.links] == ["Touchpoint store-1", "Touchpoint store-5",
                                                                "Touchpoint store-9"]
