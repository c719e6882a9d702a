"""NPS reports (SPEC §5) against an independent reference written from the SPEC."""

import datetime as dt
import itertools
import math
from decimal import ROUND_HALF_UP, Decimal, localcontext
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.models import RevenueEntry
from reports import nps_formulas as f
from reports.nps import ALL, LATEST, nps_report, nps_trend
from reports.periods import parse_period
from surveys.models import InvitationState, SuppressionReason
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

_refs = itertools.count()
Q4 = Decimal("0.0001")


def q4(x: Decimal) -> Decimal:
    return x.quantize(Q4, rounding=ROUND_HALF_UP) + 0


def ref_figures(P, D, n):
    """SPEC §5 in 60-digit Decimal."""
    with localcontext() as ctx:
        ctx.prec = 60
        nps = Decimal(100) * (P - D) / n
        p, d = Decimal(P) / n, Decimal(D) / n
        var = (p + d - (p - d) ** 2) / n
        moe = Decimal("1.96") * 100 * (var.sqrt() if var > 0 else Decimal(0))
        N = Decimal(n) + 3
        pa, da = (P + Decimal("0.75")) / N, (D + Decimal("0.75")) / N
        half = Decimal("1.96") * ((pa + da - (pa - da) ** 2) / N).sqrt()
        lo, hi = max(Decimal(-100), 100 * (pa - da - half)), min(Decimal(100), 100 * (pa - da + half))
        return nps, moe, lo, hi


@given(P=st.integers(0, 400), D=st.integers(0, 400), X=st.integers(0, 400))
@settings(max_examples=1000, deadline=None)
def test_formulas_equal_the_reference(P, D, X):
    n = P + D + X
    if n == 0:
        assert f.nps(P, D, n) is None and f.margin_of_error(P, D, n) is None and f.adjusted_wald(P, D, n) is None
        return
    nps, moe, lo, hi = ref_figures(P, D, n)
    assert f.nps(P, D, n) == nps.normalize() or abs(f.nps(P, D, n) - nps) < Decimal("1e-20")
    assert abs(f.margin_of_error(P, D, n) - moe) < Decimal("1e-18")
    got_lo, got_hi = f.adjusted_wald(P, D, n)
    assert abs(got_lo - lo) < Decimal("1e-18") and abs(got_hi - hi) < Decimal("1e-18")
    assert f.as_text(f.nps(P, D, n)) == format(q4(nps), "f")
    assert f.shown(f.nps(P, D, n)) == nps.quantize(Decimal(1), rounding=ROUND_HALF_UP) + 0
    # float cross-check of the margin formula itself
    p, d = P / n, D / n
    assert math.isclose(float(moe), 1.96 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0) / n), abs_tol=1e-9)


ZONES = ["UTC", "Europe/Paris", "America/New_York", "Pacific/Auckland"]
PERIODS = ["2025-Q1", "2025-Q2", "2025-03", "2025-04", "2025"]
STATES = [InvitationState.SENT, InvitationState.EXPIRED, InvitationState.BOUNCED, InvitationState.FAILED,
          InvitationState.QUEUED, InvitationState.SUPPRESSED]


@st.composite
def worlds(draw):
    ncust = draw(st.integers(1, 5))
    custs = [draw(st.sampled_from(["A", "B"])) for _ in range(ncust)]
    # surveys: (kind, anonymous)
    surveys = [("relationship", False), ("relationship", True), ("transactional", False)]
    # instants around the edges of quarters/months/years, in UTC, +- up to 14 hours
    edge = st.sampled_from([dt.datetime(2025, m, 1, tzinfo=dt.UTC) for m in (1, 3, 4, 5, 7)]
                           + [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)])
    when = st.builds(lambda e, h: e + dt.timedelta(minutes=h), edge, st.integers(-14 * 60, 14 * 60))
    answers = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, ncust - 1), st.integers(0, 10), when,
                                      st.sampled_from(["web", "shop"]), st.sampled_from(["A", "B"])),
                            max_size=20))
    others = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, ncust - 1), st.sampled_from(STATES), when),
                           max_size=10))
    money = draw(st.lists(st.tuples(st.integers(0, ncust - 1),
                                    st.dates(dt.date(2024, 12, 1), dt.date(2026, 1, 31)),
                                    st.integers(-3000, 20000)), max_size=12))
    return custs, surveys, answers, others, money


def reference(world, period, zone, kind, counting, segment):
    custs, surveys, answers, others, money = world
    tz = ZoneInfo(zone)
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = [(i, *a) for i, a in enumerate(answers) if surveys[a[0]][0] == kind and start <= a[3] < end]
    if counting == LATEST:
        keep = []
        for r in rows:
            i, s, c, score, when, tp, seg = r
            later = [o for o in rows if o[2] == c and surveys[o[1]][1] == surveys[s][1]
                     and (o[4] > when or (o[4] == when and o[0] > i))]
            if not later:
                keep.append(r)
        rows = keep
    if segment is not None:
        rows = [r for r in rows if r[6] == segment]
    n = len(rows)
    P = sum(1 for r in rows if r[3] >= 9)
    D = sum(1 for r in rows if r[3] <= 6)
    # sample: invitations that went out in the period: the answers' (sent a minute before) and others
    inv = [(a[0], a[5], InvitationState.RESPONDED, a[3] - dt.timedelta(minutes=1)) for a in answers]
    inv += [(s, custs[c], state, when) for s, c, state, when in others]
    inv = [x for x in inv if surveys[x[0]][0] == kind and start <= x[3] < end
           and (segment is None or x[1] == segment)]
    reached = (InvitationState.SENT, InvitationState.RESPONDED, InvitationState.EXPIRED)
    delivered = sum(1 for x in inv if x[2] in reached)
    responded = sum(1 for x in inv if x[2] == InvitationState.RESPONDED)
    return dict(responses=n, promoters=P, detractors=D, invited=len(inv), delivered=delivered,
                responded=responded)


def store(world):
    custs, surveys, answers, others, money = world
    cs = [CustomerFactory(segment=seg) for seg in custs]
    ss = [SurveyFactory(kind=k, anonymous=a) for k, a in surveys]
    for s, c, score, when, tp, seg in answers:
        inv = InvitationFactory(survey=ss[s], customer=cs[c], segment=seg, state=InvitationState.RESPONDED,
                                sent_at=when - dt.timedelta(minutes=1), touchpoint=tp)
        ResponseFactory(invitation=inv, score=score, answered_at=when, touchpoint=tp, segment=seg)
    for s, c, state, when in others:
        extra = {"suppression_reason": SuppressionReason.THROTTLED} if state == InvitationState.SUPPRESSED else {}
        sent = None if state in (InvitationState.QUEUED, InvitationState.SUPPRESSED) else when
        InvitationFactory(survey=ss[s], customer=cs[c], state=state, sent_at=sent, created_at=when, **extra)
    for c, day, cents in money:
        RevenueEntry.objects.create(customer=cs[c], date=day, amount=Decimal(cents).scaleb(-2),
                                    external_ref=f"FMLN{next(_refs)}")


@pytest.mark.django_db
@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(world=worlds(), period=st.sampled_from(PERIODS), zone=st.sampled_from(ZONES),
       kind=st.sampled_from(["relationship", "transactional"]), counting=st.sampled_from([ALL, LATEST]),
       segment=st.sampled_from([None, "A"]))
def test_nps_report_equals_an_independent_reference(world, period, zone, kind, counting, segment):
    C = parse_period(period)
    with timezone.override(zone), transaction.atomic():
        store(world)
        report = nps_report(period=C, survey_type=kind, counting=counting, segment=segment)
        exp = reference(world, C, zone, kind, counting, segment)
        data = report.as_json()
        for key in ("responses", "promoters", "detractors", "invited", "delivered", "responded"):
            assert data[key] == exp[key], (key, data[key], exp[key])
        if exp["responses"]:
            nps, moe, lo, hi = ref_figures(exp["promoters"], exp["detractors"], exp["responses"])
            assert data["nps"] == format(q4(nps), "f")
            assert data["margin_of_error"] == format(q4(moe), "f")
            assert data["ci_low"] == format(q4(lo), "f") and data["ci_high"] == format(q4(hi), "f")
        else:
            assert data["nps"] is None and data["margin_of_error"] is None
        if exp["delivered"]:
            assert data["response_rate"] == format(q4(Decimal(exp["responded"]) / exp["delivered"]), "f")
        else:
            assert data["response_rate"] is None
        # the trend's figure for the same period equals the headline's
        if segment is None:
            [(_, counts)] = nps_trend(periods=[C], survey_type=kind, counting=counting)
            assert (counts.responses, counts.promoters, counts.detractors) == (
                exp["responses"], exp["promoters"], exp["detractors"])
        transaction.set_rollback(True)
