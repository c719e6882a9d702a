"""Report edges that a mutation audit of reports/ found unpinned: period boundaries of the ledger,
the judging of a change between two periods, rounding and signs of shown figures."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine

from reports import nps_formulas as f
from reports.cohorts import AcquisitionRow, CohortRow, cohort_report
from reports.earned_growth import earned_growth, rate_text
from reports.loyalty import loyalty_economics, next_period_complete
from reports.nps import nps_breakdown, nps_report
from reports.periods import MAX_YEAR, MIN_YEAR, parse_period, period_nav
from surveys.models import InvitationState, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay, reason

UTC = dt.UTC


# --- nps_formulas.change: "significant only beyond the combined margin, 30 answers in each period" ---


def test_no_change_between_two_unanimous_periods_is_not_significant():
    """Two periods of 40 promoters each: the difference (0) equals the combined margin (0). Only a
    change *beyond* the margin is significant (SPEC §5), so an equal one is not."""
    change = f.change((40, 0, 40), (40, 0, 40))

    assert (change.difference, change.combined_margin) == (0, 0)
    assert not change.significant and not change.too_few


def test_exactly_thirty_answers_in_each_period_are_judged():
    """README: a change is judged with at least 30 answers in each period; 30 is enough."""
    change = f.change((30, 0, 30), (0, 30, 30))  # 100 to -100

    assert not change.too_few and change.significant


@pytest.mark.parametrize(
    ("before", "after"),
    [((1, 0, 1), (0, 1000, 1000)), ((1000, 0, 1000), (0, 1, 1))],
    ids=["too-few-before", "too-few-after"],
)
def test_too_few_answers_in_either_period_is_not_judged(before, after):
    """README: "at least 30 answers in *each* period": a thin prior period is as unjudgeable as a
    thin current one."""
    change = f.change(before, after)

    assert change.too_few and not change.significant


# --- nps: the revenue share counts the period's last day ---


@pytest.mark.django_db
def test_the_revenue_share_counts_revenue_dated_on_the_periods_last_day():
    """The revenue share of respondents reads every ledger line dated in the period, the last day
    included: the respondent's 100.00 of 31 July is half of July's 200.00."""
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    respondent, other = CustomerFactory(), CustomerFactory()
    when = dt.datetime(2025, 7, 10, 12, tzinfo=UTC)
    invitation = InvitationFactory(survey=survey, customer=respondent, state=InvitationState.RESPONDED, sent_at=when)
    ResponseFactory(invitation=invitation, score=10, answered_at=when)
    pay(respondent, "2025-07-31", "100.00")
    pay(other, "2025-07-01", "100.00")

    report = nps_report(period=parse_period("2025-07"))

    assert report.revenue_share == D("0.5")
    assert report.as_json()["revenue_share_of_respondents"] == "0.5000"


@pytest.mark.django_db
def test_a_breakdown_lists_the_largest_groups_first():
    """The dashboard's segment table lists its rows by number of answers, largest first."""
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    when = dt.datetime(2025, 7, 10, 12, tzinfo=UTC)
    for segment, count in (("SMB", 1), ("Enterprise", 3), ("Mid", 2)):
        for _ in range(count):
            invitation = InvitationFactory(
                survey=survey, customer=CustomerFactory(segment=segment), state=InvitationState.RESPONDED, sent_at=when
            )
            ResponseFactory(invitation=invitation, score=9, answered_at=when)

    rows = nps_breakdown(period=parse_period("2025-07"), by="segment")

    assert [(name, counts.responses) for name, counts in rows] == [("Enterprise", 3), ("Mid", 2), ("SMB", 1)]


# --- earned growth ---


@pytest.mark.django_db
def test_known_reason_share_counts_only_new_units_that_brought_revenue():
    """README: known_reason_share is over the new units that brought revenue (above 0 in C); a new
    unit of known reason whose C is a net refund is in neither side, so the share stays 100 / 200."""
    pay(CustomerFactory(reason=reason("recommendation")), "2025-05-01", "100.00")  # earned, new
    refunded = CustomerFactory(reason=reason("salesperson"))  # bought, new: a refund only in C
    pay(refunded, "2025-05-02", "-30.00")
    pay(CustomerFactory(), "2025-05-03", "100.00")  # no answer: unknown, new
    pay(CustomerFactory(), "2025-02-01", "50.00")  # some prior revenue, so ratios are defined

    report = earned_growth(period=parse_period("2025-Q2"))

    assert report.known_reason_share == D("0.5")
    assert report.as_json()["known_reason_share"] == "0.5"


@pytest.mark.django_db
def test_a_unit_whose_sale_in_p_was_refunded_in_p_is_not_reactivated():
    """Reactivated = positive revenue before C *outside* P. A sale on P's first day, refunded within
    P, is inside P: the unit is new in C (net P revenue 0) but not reactivated. On PostgreSQL the
    quarters read the roll-up, on SQLite the ledger: both paths."""
    unit = CustomerFactory(reason=reason("recommendation"))
    pay(unit, "2025-01-01", "100.00")
    pay(unit, "2025-02-01", "-100.00")
    pay(unit, "2025-04-15", "50.00")
    pay(CustomerFactory(), "2025-02-01", "80.00")

    report = earned_growth(period=parse_period("2025-Q2"))

    assert report.earned_new_revenue == D("50.00") and report.new_units["earned"] == 1
    assert (report.reactivated_units, report.reactivated_revenue) == (0, D("0.00"))


def test_a_rate_that_rounds_to_zero_is_never_negative_zero():
    """A rate a hair below 0 (-0.000000001 over a large prior revenue) is "0" in the JSON, not "-0"."""
    assert rate_text(D("-0.000000001")) == "0"
    assert rate_text(D("-0.0000004")) == "0"


# --- periods ---


def test_the_last_year_allowed_is_accepted():
    """The error says "the year must be from 1900 to 2999": both ends are allowed."""
    assert str(parse_period(str(MAX_YEAR))) == str(MAX_YEAR)
    assert str(parse_period(f"{MIN_YEAR}-01")) == f"{MIN_YEAR}-01"
    with pytest.raises(ValueError, match="from 1900 to 2999"):
        parse_period(str(MAX_YEAR + 1))


def test_the_next_link_reaches_a_period_that_starts_today(settings):
    """On 1 August the July dashboard links to August: a period that has begun is not in the future."""
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(dt.datetime(2025, 8, 1, 9, tzinfo=UTC), tick=False):
        nav = period_nav(parse_period("2025-07"), lambda other: {"period": str(other)})
        later = period_nav(parse_period("2025-08"), lambda other: {"period": str(other)})

    assert nav["next_label"] == "2025-08" and nav["next"] == "period=2025-08"
    assert "next" not in later


# --- loyalty economics ---


@pytest.mark.django_db
def test_loyalty_counts_revenue_on_the_periods_last_day_in_that_period():
    """Revenue dated on C's last day is C's revenue, not the next period's."""
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    fan = CustomerFactory()
    when = dt.datetime(2025, 5, 10, tzinfo=UTC)
    invitation = InvitationFactory(survey=survey, customer=fan, state=InvitationState.RESPONDED, sent_at=when)
    ResponseFactory(invitation=invitation, score=10, answered_at=when)
    pay(fan, "2025-06-30", "100.00")
    pay(fan, "2025-07-01", "120.00")

    promoters = loyalty_economics(period=parse_period("2025-Q2"))[0]

    assert promoters.category == "promoter"
    assert (promoters.revenue, promoters.next_revenue) == (D("100.00"), D("120.00"))
    assert promoters.nrr == D("1.2") and promoters.churned_customers == 0


def test_the_next_period_is_not_complete_on_its_last_day(settings):
    """While N is not over (today on or before its last day) its revenue is "so far"."""
    settings.TIME_ZONE = "UTC"
    q2 = parse_period("2025-Q2")
    with time_machine.travel(dt.datetime(2025, 9, 30, 18, tzinfo=UTC), tick=False):
        assert next_period_complete(q2) is False
    with time_machine.travel(dt.datetime(2025, 10, 1, 0, 5, tzinfo=UTC), tick=False):
        assert next_period_complete(q2) is True


# --- cohorts ---


def test_per_unit_money_rounds_half_away_from_zero():
    """Every rounded figure rounds half away from zero: 0.05 over 2 units is 0.03 (not Decimal's
    half-even 0.02), -0.05 over 2 is -0.03."""
    assert AcquisitionRow(kind="earned", reason="", customers=2, cost=D("0.05")).per_customer == D("0.03")
    row = CohortRow(
        cohort=parse_period("2024-Q1"), kind="earned", customers=2, base=(2, 2, 0, 0), retained=(1, 1, 0, 0),
        net=(D("-0.05"), D("0.05"), D(0), D(0)),
    )
    assert row.net_per_customer == (D("-0.03"), D("0.03"), None, None)


@pytest.mark.django_db
def test_no_answer_is_the_last_reason_of_its_class():
    """The acquisition cost table lists a class's categories in their order, "No answer" last (an
    unmapped "Other" answer is unknown too, and comes before it)."""
    CustomerFactory(acquired_on=dt.date(2024, 1, 10))
    CustomerFactory(acquired_on=dt.date(2024, 1, 11), reason=reason("other"), reason_text="a podcast")

    report = cohort_report(as_of=dt.date(2025, 6, 15))

    reasons = [(r.reason, r.kind) for r in report.acquisition_by_reason]
    assert reasons == [("Other", "unknown"), ("No answer", "unknown")]
