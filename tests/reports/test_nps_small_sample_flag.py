"""The "Fewer than 100 responses" integrity flag: below MIN_RESPONSES_TO_JUDGE answers the margin of
error is no reassurance (one answer gives ±0.0), so the flag says the sample is too small instead."""

import datetime as dt

import pytest
import time_machine

from reports.integrity import integrity_flags
from reports.nps import nps_report
from reports.nps_formulas import MIN_RESPONSES_TO_JUDGE
from reports.periods import parse_period
from surveys.models import InvitationState
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")


def answers(*scores):
    survey = SurveyFactory()
    for score in scores:
        invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN)
        ResponseFactory(invitation=invitation, score=score, answered_at=WHEN)


def small_sample():
    return {flag.code: flag for flag in integrity_flags(nps_report(period=Q2))}["small_sample"]


def test_one_answer_is_too_few_for_a_margin_not_a_margin_of_zero():
    answers(9)

    flag = small_sample()

    assert flag.raised
    assert flag.detail.startswith("1 response (threshold 100): too few for a meaningful margin of error")
    assert "±" not in flag.detail


def test_from_the_judging_threshold_up_the_margin_is_quoted():
    answers(*([10, 3] * (MIN_RESPONSES_TO_JUDGE // 2)))

    flag = small_sample()

    assert flag.raised and flag.detail == "30 responses (threshold 100): the margin of error is ±35.8 points."


def test_no_answer_quotes_no_margin():
    assert small_sample().detail == "0 responses (threshold 100)."


@time_machine.travel(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), tick=False)
def test_the_dashboard_says_so_beside_the_headlines_margin_too(client, viewer):
    survey = SurveyFactory()
    when = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=when)
    ResponseFactory(invitation=invitation, score=9, answered_at=when)
    client.force_login(viewer)

    html = client.get("/reports/nps/", {"period": "2026-Q4"}).content.decode()

    assert "the margin of error is ±0.0 points" not in html
    assert "Fewer than 30 answers: too few for the margin to mean much" in html
