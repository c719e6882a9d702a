"""The demo's surveys: deterministic, honest samples, and the story the dashboards tell."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from reports.loyalty import loyalty_economics
from reports.periods import parse_period
from surveys.models import Invitation, InvitationState, Response, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo(**options):
    out = StringIO()
    call_command("demo", stdout=out, customers=600, seed=3, until="2026-06", no_users=True, **options)
    return out.getvalue()


def snapshot():
    return (
        list(
            Invitation.objects.values("state", "suppression_reason")
            .annotate(n=Count("id"))
            .order_by("state", "suppression_reason")
        ),
        list(Response.objects.order_by("answered_at", "score").values_list("score", "reason")[:50]),
    )


def test_the_demo_loads_surveys_once_and_the_same_again_after_a_reset():
    output = demo()
    assert "Loaded 2 demo surveys" in output
    first = snapshot()
    assert "Loaded 2 demo surveys" not in demo()
    assert demo(reset=True) and snapshot() == first
    assert Survey.objects.filter(name__startswith="Demo: ").count() == 2


def test_the_demo_sample_is_honest():
    demo()
    states = set(Invitation.objects.values_list("state", flat=True))
    assert {InvitationState.RESPONDED, InvitationState.SUPPRESSED, InvitationState.BOUNCED} <= states
    reasons = set(Invitation.objects.exclude(suppression_reason="").values_list("suppression_reason", flat=True))
    assert {"opted_out", "throttled", "bounced_before"} <= reasons


def test_promoters_churn_less_and_keep_more_revenue_than_detractors():
    demo()
    totals = {}
    for quarter in ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"):
        for row in loyalty_economics(period=parse_period(quarter)):
            total = totals.setdefault(row.category, [0, 0, 0, 0])
            total[0] += row.customers
            total[1] += row.churned_customers
            total[2] += row.revenue
            total[3] += row.next_revenue
    promoters, detractors = totals["promoter"], totals["detractor"]
    assert promoters[1] / promoters[0] < detractors[1] / detractors[0]
    assert promoters[3] / promoters[2] > detractors[3] / detractors[2]
