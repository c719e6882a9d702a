"""Each integrity flag raised, and not raised."""

import datetime as dt

import pytest

from reports.integrity import SOLICITED, integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.models import AudienceKind, InvitationState, Launch, SurveyKind
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")


def answer(survey, score, **extra):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN,
                                   touchpoint=extra.get("touchpoint", ""))
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, **extra)


def flags():
    return {flag.code: flag for flag in integrity_flags(nps_report(period=Q2))}


@pytest.fixture
def survey():
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP, sender_email="cx@example.com")


def test_a_small_sample_with_a_low_response_rate_is_flagged(survey):
    answer(survey, 9)
    for _ in range(5):
        InvitationFactory(survey=survey, sent_at=WHEN)  # delivered, silent: 1 of 6 = 17 %
    raised = flags()
    assert raised["low_response_rate"].raised and "16.7%" in raised["low_response_rate"].detail
    assert raised["small_sample"].raised


def test_a_good_response_rate_and_a_large_sample_are_not_flagged(survey):
    for n in range(100):
        answer(survey, n % 11)
    raised = flags()
    assert not raised["low_response_rate"].raised and not raised["small_sample"].raised


def test_a_touchpoint_that_clusters_at_9_and_10_is_flagged_with_a_link(survey):
    for _ in range(40):
        answer(survey, 10, touchpoint="store-12")
    for n in range(120):
        answer(survey, n % 9, touchpoint="web")  # scores 0..8: no promoters
    flag = flags()["touchpoint_clustering"]
    assert flag.raised and "store-12" in flag.links[0][0] and "touchpoint=store-12" in flag.links[0][1]


def test_touchpoints_with_similar_scores_are_not_flagged(survey):
    for n in range(80):
        answer(survey, 10 if n % 2 else 6, touchpoint="store-12" if n < 40 else "web")
    assert not flags()["touchpoint_clustering"].raised


@pytest.mark.parametrize(
    "text",
    [
        "The salesperson asked me to give a 10 please",
        "They told us to rate them 9 or 10",
        "On m'a demandé de mettre 10 à cette enquête",
        "Der Verkäufer hat mich gebeten, eine 10 zu geben",
    ],
)
def test_verbatims_asking_for_a_high_score_are_flagged(survey, text):
    response = answer(survey, 10, reason=text)
    flag = flags()["solicited_scores"]
    assert flag.raised and flag.links[0][1].endswith(f"/{response.pk}/")


@pytest.mark.parametrize("text", ["I asked for a refund and got it", "Great service, ten out of ten", ""])
def test_ordinary_verbatims_are_not_flagged(text):
    assert not SOLICITED.search(text)


def test_a_hand_picked_launch_is_flagged(survey):
    Launch.objects.create(survey=survey, audience=AudienceKind.LIST, launched_at=WHEN, audience_size=12)
    flag = flags()["hand_picked"]
    assert flag.raised and "hand-picked list of 12" in flag.links[0][0]


def test_a_launch_by_rule_is_not_flagged(survey):
    launch = Launch.objects.create(survey=survey, audience=AudienceKind.ALL, launched_at=WHEN)
    InvitationFactory(survey=survey, launch=launch, sent_at=WHEN, created_at=WHEN)
    assert not flags()["hand_picked"].raised
