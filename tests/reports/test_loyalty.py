"""Loyalty economics on a small ledger worked by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from reports.loyalty import loyalty_economics
from reports.periods import parse_period
from surveys.models import InvitationState, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, RevenueEntryFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 5, 10, tzinfo=dt.UTC)


def answered(survey, customer, score, when=WHEN):
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=when)
    return ResponseFactory(invitation=invitation, score=score, answered_at=when)


def revenue(customer, day, amount):
    RevenueEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=Decimal(amount))


def test_promoters_grow_and_refer_while_detractors_churn():
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    fan, loyal, critic, quiet = CustomerFactory(), CustomerFactory(), CustomerFactory(), CustomerFactory()
    answered(survey, fan, 10)
    answered(survey, loyal, 9)
    answered(survey, critic, 2)
    answered(survey, critic, 4, when=WHEN + dt.timedelta(days=3))  # latest answer counts once
    # Q2 2025 (C) and Q3 2025 (N)
    revenue(fan, "2025-04-01", "100.00")
    revenue(fan, "2025-07-01", "150.00")
    revenue(loyal, "2025-05-01", "100.00")
    revenue(loyal, "2025-08-01", "90.00")
    revenue(critic, "2025-06-01", "200.00")
    revenue(critic, "2025-07-15", "-20.00")  # a refund and nothing else: churned
    revenue(quiet, "2025-05-01", "999.00")  # did not answer: not in any group
    friend = CustomerFactory(referred_by=fan, acquired_on=dt.date(2025, 8, 1))
    revenue(friend, "2025-08-02", "40.00")
    CustomerFactory(referred_by=fan, acquired_on=dt.date(2024, 1, 1))  # referred long ago: not counted

    rows = {row.category: row for row in loyalty_economics(period=parse_period("2025-Q2"))}
    promoters, passives, detractors = rows["promoter"], rows["passive"], rows["detractor"]
    assert (promoters.customers, promoters.revenue, promoters.next_revenue) == (2, Decimal("200.00"), Decimal("240.00"))
    assert promoters.nrr == Decimal("1.2") and promoters.churned_customers == 0
    assert (promoters.referrals, promoters.referred_revenue) == (1, Decimal("40.00"))
    assert (detractors.customers, detractors.churned_customers, detractors.churned_revenue) == (1, 1, Decimal("200.00"))
    assert detractors.nrr == Decimal("-0.1") and detractors.churn_rate == 1
    assert passives.customers == 0 and passives.nrr is None


def test_answers_to_anonymous_surveys_are_left_out():
    """Tying an anonymous answer to its customer's ledger is what the survey promised not to do;
    with it, a customer answering a named and an anonymous survey was in two rows."""
    named = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    anonymous = SurveyFactory(kind=SurveyKind.RELATIONSHIP, anonymous=True)
    both, hidden = CustomerFactory(), CustomerFactory()
    answered(named, both, 10)
    answered(anonymous, both, 0, when=WHEN + dt.timedelta(days=1))
    answered(anonymous, hidden, 3)
    revenue(both, "2025-05-01", "100.00")
    revenue(hidden, "2025-05-01", "50.00")

    rows = {row.category: row for row in loyalty_economics(period=parse_period("2025-Q2"))}
    assert (rows["promoter"].customers, rows["promoter"].revenue) == (1, Decimal("100.00"))
    assert rows["detractor"].customers == 0
    assert all(row.customers == 0 for row in loyalty_economics(period=parse_period("2025-Q2"), survey=anonymous))
