"""The NPS engine over the database: counts, sample, counting rules, series, revenue share."""

import datetime as dt
from decimal import Decimal

import pytest

from reports.nps import LATEST, nps_breakdown, nps_report, nps_trend, revenue_share_breakdown
from reports.nps_dashboard import NpsParams, latest_verbatims
from reports.periods import parse_period
from surveys.models import InvitationState, SuppressionReason, SurveyKind
from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db

JUNE = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")


def answer(survey, score, *, customer=None, when=JUNE, **extra):
    invitation = InvitationFactory(
        survey=survey, state=InvitationState.RESPONDED, sent_at=when - dt.timedelta(days=1),
        **({"customer": customer} if customer else {}),
    )
    return ResponseFactory(invitation=invitation, score=score, answered_at=when, **extra)


@pytest.fixture
def survey():
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP)


def test_it_counts_the_worked_example(survey):
    for score in (10, 9, 8, 7, 7, 3):
        answer(survey, score)
    report = nps_report(period=Q2)
    data = report.as_json()
    assert (data["responses"], data["promoters"], data["passives"], data["detractors"]) == (6, 2, 3, 1)
    assert data["nps"] == "16.6667" and data["nps_shown"] == 17
    assert report.distribution == [0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1]


def test_the_response_rate_is_on_delivered_not_invited(survey):
    answer(survey, 9)
    InvitationFactory(survey=survey, sent_at=JUNE)  # sent, not answered
    InvitationFactory(survey=survey, sent_at=JUNE, state=InvitationState.BOUNCED)
    InvitationFactory(survey=survey, sent_at=None, created_at=JUNE, state=InvitationState.SUPPRESSED,
                      suppression_reason=SuppressionReason.OPTED_OUT)
    InvitationFactory(survey=survey, sent_at=None, created_at=JUNE, state=InvitationState.SUPPRESSED,
                      suppression_reason=SuppressionReason.THROTTLED)
    data = nps_report(period=Q2).as_json()
    assert data["invited"] == 5 and data["suppressed"] == 2 and data["bounced"] == 1
    assert data["delivered"] == 2 and data["responded"] == 1
    assert data["response_rate"] == "0.5000"
    assert data["suppressed_by_reason"]["opted_out"] == 1 and data["suppressed_by_reason"]["throttled"] == 1


def test_no_answers_gives_nulls_not_errors(survey):
    data = nps_report(period=Q2).as_json()
    assert data["responses"] == 0 and data["nps"] is None and data["margin_of_error"] is None
    assert data["ci_low"] is None and data["response_rate"] is None


def test_latest_per_customer_keeps_one_answer_each(survey):
    customer = CustomerFactory()
    answer(survey, 2, customer=customer, when=JUNE)
    answer(survey, 10, customer=customer, when=JUNE + dt.timedelta(days=5))
    answer(survey, 9)
    assert nps_report(period=Q2).counts.responses == 3
    latest = nps_report(period=Q2, counting=LATEST).counts
    assert (latest.responses, latest.promoters, latest.detractors) == (2, 2, 0)


Q1 = parse_period("2025-Q1")
JAN, FEB, MAR = (dt.datetime(2025, month, 10, 12, tzinfo=dt.UTC) for month in (1, 2, 3))


def _latest_everywhere(period) -> list[tuple]:
    """(responses, promoters, detractors) under `latest`: the report, a segment row, the trend."""
    counts = [nps_report(period=period, counting=LATEST).counts]
    counts.append(dict(nps_breakdown(period=period, by="segment", counting=LATEST))["SMB"])
    counts.append(nps_trend(periods=[period], counting=LATEST)[0][1])
    return [(c.responses, c.promoters, c.detractors) for c in counts]


def test_latest_counting_does_not_tell_who_answered_an_anonymous_survey(survey):
    # Audit: Xavier's named answer vanished under `latest` because of his later anonymous one,
    # Yvonne's stayed: comparing the two rules told who answered the anonymous survey.
    anonymous = SurveyFactory(kind=SurveyKind.RELATIONSHIP, anonymous=True)
    xavier, yvonne = CustomerFactory(name="Xavier", segment="SMB"), CustomerFactory(name="Yvonne", segment="SMB")
    for customer in (xavier, yvonne):
        answer(survey, 8, customer=customer, when=JAN, reason="fine")
        InvitationFactory(survey=anonymous, customer=customer)  # both invited: "delivered"
    answer(anonymous, 3, customer=xavier, when=MAR, reason="slow")

    params = {"period": Q1, "survey_type": SurveyKind.RELATIONSHIP}
    named = [
        {r.customer.name for r in latest_verbatims(NpsParams(**params, counting=c)) if not r.survey.anonymous}
        for c in ("all", LATEST)
    ]
    assert named[0] == named[1] == {"Xavier", "Yvonne"}
    assert _latest_everywhere(Q1) == [(3, 0, 1)] * 3


def test_latest_counting_still_keeps_one_named_and_one_anonymous_answer_each(survey):
    anonymous = SurveyFactory(kind=SurveyKind.RELATIONSHIP, anonymous=True)
    customer = CustomerFactory(segment="SMB")
    answer(survey, 0, customer=customer, when=JAN)
    answer(anonymous, 1, customer=customer, when=FEB)  # earlier than the named 10: still counts
    answer(survey, 10, customer=customer, when=MAR)
    answer(anonymous, 9, customer=customer, when=MAR + dt.timedelta(days=1))
    # The later answer of each kind: 10 (named) and 9 (anonymous), both promoters.
    assert nps_report(period=Q1).counts.responses == 4
    assert _latest_everywhere(Q1) == [(2, 2, 0)] * 3


def test_a_survey_row_under_latest_is_that_surveys_own_report(survey, django_assert_num_queries):
    from reports.nps import nps_trend_by

    # Audit: the customer's later answer to B dropped their answer to A from A's "By survey" row
    # (0 answers) while A's own report counts it (1 detractor).
    other = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    customer = CustomerFactory()
    answer(survey, 3, customer=customer, when=JAN)
    answer(other, 10, customer=customer, when=FEB)
    RevenueEntryFactory(customer=customer, date=dt.date(2025, 2, 1), amount=Decimal("40.00"))
    RevenueEntryFactory(customer=CustomerFactory(), date=dt.date(2025, 2, 1), amount=Decimal("60.00"))

    with django_assert_num_queries(1):
        rows = dict(nps_breakdown(period=Q1, by="survey", counting=LATEST))
    assert set(rows) == {survey.name, other.name}
    shares = revenue_share_breakdown(period=Q1, by="survey", groups=list(rows), counting=LATEST)
    trend = nps_trend_by(periods=[Q1], by="survey", counting=LATEST)
    for each in (survey, other):
        own = nps_report(period=Q1, survey=each, counting=LATEST)
        assert rows[each.name].as_tuple == trend[each.name][0][1].as_tuple == own.counts.as_tuple == (
            (0, 1, 1) if each == survey else (1, 0, 1)
        )
        assert shares[each.name] == own.revenue_share == Decimal("0.4")
    # Across the series the customer still counts once, with their latest answer.
    assert nps_report(period=Q1, counting=LATEST).counts.as_tuple == (1, 0, 1)


def test_relationship_and_transactional_answers_never_mix(survey):
    answer(survey, 10)
    answer(SurveyFactory(kind=SurveyKind.TRANSACTIONAL), 0)
    assert nps_report(period=Q2).as_json()["nps"] == "100.0000"
    transactional = nps_report(period=Q2, survey_type=SurveyKind.TRANSACTIONAL).as_json()
    assert transactional["nps"] == "-100.0000" and transactional["survey_type"] == "transactional"


def test_answers_outside_the_period_do_not_count(survey):
    answer(survey, 10, when=dt.datetime(2025, 3, 31, 23, 59, tzinfo=dt.UTC))
    answer(survey, 10, when=dt.datetime(2025, 7, 1, 0, 0, tzinfo=dt.UTC))
    assert nps_report(period=Q2).counts.responses == 0


def test_revenue_share_of_respondents(survey):
    respondent, other = CustomerFactory(), CustomerFactory()
    answer(survey, 9, customer=respondent)
    RevenueEntryFactory(customer=respondent, date=dt.date(2025, 5, 1), amount=Decimal("30.00"))
    RevenueEntryFactory(customer=other, date=dt.date(2025, 5, 1), amount=Decimal("90.00"))
    RevenueEntryFactory(customer=respondent, date=dt.date(2025, 9, 1), amount=Decimal("500.00"))
    assert nps_report(period=Q2).as_json()["revenue_share_of_respondents"] == "0.2500"


def test_a_segments_revenue_share_stays_when_a_respondent_moves_on(survey):
    # The respondent's answer stays in SMB (its copied segment); its revenue left SMB's share with it.
    respondent, other = CustomerFactory(segment="SMB"), CustomerFactory(segment="SMB")
    answer(survey, 10, customer=respondent, segment="SMB")
    for customer in (respondent, other):
        RevenueEntryFactory(customer=customer, date=dt.date(2025, 5, 1), amount=Decimal("100.00"))
    before = nps_report(period=Q2, segment="SMB").as_json()

    respondent.segment = "Enterprise"
    respondent.save()
    after = nps_report(period=Q2, segment="SMB").as_json()

    assert before["revenue_share_of_respondents"] == after["revenue_share_of_respondents"] == "0.5000"
    assert after["responses"] == 1


def test_segment_filter_and_breakdowns(survey):
    answer(survey, 10, segment="SMB", touchpoint="web")
    answer(survey, 0, segment="Enterprise", touchpoint="phone")
    answer(survey, 9, segment="SMB", touchpoint="phone")
    assert nps_report(period=Q2, segment="SMB").as_json()["nps"] == "100.0000"
    by_segment = dict(nps_breakdown(period=Q2, by="segment"))
    assert by_segment["SMB"].responses == 2 and by_segment["Enterprise"].detractors == 1
    by_touchpoint = dict(nps_breakdown(period=Q2, by="touchpoint"))
    assert by_touchpoint["phone"].as_tuple == (1, 1, 2)


def test_trend_groups_answers_by_period_in_one_query(survey, django_assert_num_queries):
    answer(survey, 10, when=dt.datetime(2025, 4, 2, tzinfo=dt.UTC))
    answer(survey, 0, when=dt.datetime(2025, 6, 2, tzinfo=dt.UTC))
    answer(survey, 0, when=dt.datetime(2025, 6, 3, tzinfo=dt.UTC))
    months = [parse_period(p) for p in ("2025-04", "2025-05", "2025-06")]
    with django_assert_num_queries(1):
        trend = nps_trend(periods=months)
    assert [counts.responses for _, counts in trend] == [1, 0, 2]
    assert trend[2][1].nps == -100


def test_trend_per_segment_in_one_query(survey, django_assert_num_queries):
    from reports.nps import nps_trend_by

    answer(survey, 10, segment="SMB", when=dt.datetime(2025, 4, 2, tzinfo=dt.UTC))
    answer(survey, 0, segment="Enterprise", when=dt.datetime(2025, 6, 2, tzinfo=dt.UTC))
    answer(survey, 9, segment="SMB", when=dt.datetime(2025, 6, 3, tzinfo=dt.UTC))
    months = [parse_period(p) for p in ("2025-04", "2025-05", "2025-06")]
    with django_assert_num_queries(1):
        trend = nps_trend_by(periods=months, by="segment")
    assert [c.responses for _, c in trend["SMB"]] == [1, 0, 1]
    assert [c.detractors for _, c in trend["Enterprise"]] == [0, 0, 1]


def test_a_customer_moved_to_another_segment_leaves_past_samples_as_they_were(survey):
    from reports.nps import sample_breakdown

    mover = CustomerFactory(segment="SMB")
    answer(survey, 10, customer=mover, segment="SMB")
    InvitationFactory(survey=survey, customer=CustomerFactory(segment="SMB"), sent_at=JUNE)  # not answered
    mover.segment = "Enterprise"
    mover.save()

    smb = nps_report(period=Q2, segment="SMB").as_json()
    assert (smb["invited"], smb["responded"], smb["responses"]) == (2, 1, 1)
    assert smb["response_rate"] == "0.5000"
    assert nps_report(period=Q2, segment="Enterprise").as_json()["invited"] == 0
    by_segment = sample_breakdown(period=Q2, by="segment")
    assert set(by_segment) == {"SMB"} and by_segment["SMB"].invited == 2
