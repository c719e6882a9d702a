"""Earned growth (SPEC §3) against an independent reference written from the SPEC.

Random forests of customers (parents up to 3 levels), reasons of every class (mapped "other"
answers too), segments, refunds, churn and reactivation; random periods (years, quarters, months,
prior and yoy). Exact Decimal comparison of money and ratios, and of the JSON rates' rounding.
"""

import datetime as dt
import itertools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.models import RevenueEntry
from reports.earned_growth import earned_growth, earned_growth_by_segment, rate_text
from reports.periods import parse_period
from tests.factories import CustomerFactory, reason

CLASS = {
    "recommendation": "earned", "reputation": "earned", "returning": "earned",
    "salesperson": "bought", "advertising": "bought", "promotion": "bought",
}
REASONS = [None, "recommendation", "reputation", "returning", "salesperson", "advertising", "promotion", "other"]
MAPS = [None, "returning", "promotion"]
SEGS = ["X", "Y", ""]
PERIODS = (
    [str(y) for y in (2023, 2024, 2025)]
    + [f"{y}-Q{q}" for y in (2023, 2024, 2025) for q in range(1, 5)]
    + [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]
)
_refs = itertools.count()


@st.composite
def worlds(draw):
    people = []
    for i in range(draw(st.integers(1, 7))):
        parent = draw(st.none() | st.integers(0, i - 1)) if i else None
        why = draw(st.sampled_from(REASONS))
        mapped = draw(st.sampled_from(MAPS)) if why == "other" else None
        people.append(dict(parent=parent, reason=why, mapped=mapped, segment=draw(st.sampled_from(SEGS))))
    day = st.dates(dt.date(2021, 6, 1), dt.date(2025, 12, 31))
    line = st.tuples(st.integers(0, len(people) - 1), day,
                     st.integers(-9_999, 30_000) | st.sampled_from([1, -1, 5, 333, 667]))
    return people, draw(st.lists(line, max_size=30))


def klass(p):
    if p["mapped"]:
        return CLASS[p["mapped"]]
    if p["reason"] in (None, "other"):
        return "unknown"
    return CLASS[p["reason"]]


def ref(people, lines, C, P, grain, segment):
    """SPEC §3 read literally, in Decimal."""

    def top(i):
        while grain == "entity" and people[i]["parent"] is not None:
            i = people[i]["parent"]
        return i

    rp, rc = defaultdict(Decimal), defaultdict(Decimal)
    positive_before_c_outside_p = set()
    for i, day, cents in lines:
        u, amt = top(i), Decimal(cents) / 100
        if P.start <= day <= P.end:
            rp[u] += amt
        if C.start <= day <= C.end:
            rc[u] += amt
        if day < C.start and not (P.start <= day <= P.end) and amt > 0:
            positive_before_c_outside_p.add(u)
    units = {u for u in set(rp) | set(rc) if segment is None or people[u]["segment"] == segment}
    R_P = sum((rp[u] for u in units), Decimal(0))
    R_C = sum((rc[u] for u in units), Decimal(0))
    K = {u for u in units if rp[u] > 0}
    out = dict(prior_revenue=R_P, revenue=R_C)
    out["retained_revenue"] = sum((rc[u] for u in K), Decimal(0))
    new = {"earned": Decimal(0), "bought": Decimal(0), "unknown": Decimal(0)}
    react = Decimal(0)
    for u in units - K:
        new[klass(people[u])] += rc[u]
        if rc[u] != 0 and u in positive_before_c_outside_p:
            react += rc[u]
    out["earned_new_revenue"], out["bought_new_revenue"], out["unknown_new_revenue"] = (
        new["earned"], new["bought"], new["unknown"])
    out["reactivated_revenue"] = react
    out["expansion_revenue"] = sum((rc[u] - rp[u] for u in K if rc[u] > rp[u]), Decimal(0))
    out["contraction_revenue"] = sum((rp[u] - rc[u] for u in K if 0 < rc[u] < rp[u]), Decimal(0))
    out["churned_revenue"] = sum((rp[u] - rc[u] for u in K if rc[u] <= 0), Decimal(0)) + sum(
        (rp[u] for u in units - K), Decimal(0))
    grr_num = sum((min(rc[u], rp[u]) for u in K), Decimal(0))
    if R_P > 0:
        out["nrr"] = out["retained_revenue"] / R_P
        out["grr"] = grr_num / R_P
        out["enc"] = new["earned"] / R_P
        out["bnc"] = new["bought"] / R_P
        out["unc"] = new["unknown"] / R_P
        out["earned_growth_rate"] = (out["retained_revenue"] + new["earned"]) / R_P - 1
        out["total_growth_rate"] = R_C / R_P - 1
        out["earned_growth_share"] = (out["earned_growth_rate"] / out["total_growth_rate"]
                                      if out["total_growth_rate"] > 0 else None)
        out["earned_growth_rate_if_unknown_earned"] = (
            out["retained_revenue"] + new["earned"] + new["unknown"]) / R_P - 1
    else:
        for k in ("nrr", "grr", "enc", "bnc", "unc", "earned_growth_rate", "total_growth_rate",
                  "earned_growth_share", "earned_growth_rate_if_unknown_earned"):
            out[k] = None
    return out


def store(people, lines):
    rows = []
    for p in people:
        rows.append(CustomerFactory(
            parent=rows[p["parent"]] if p["parent"] is not None else None,
            reason=reason(p["reason"]) if p["reason"] else None,
            reason_text="x" if p["reason"] == "other" else "",
            reason_mapped_to=reason(p["mapped"]) if p["mapped"] else None,
            segment=p["segment"],
        ))
    RevenueEntry.objects.bulk_create(
        RevenueEntry(customer=rows[i], date=d, amount=Decimal(c).scaleb(-2), external_ref=f"FML{next(_refs)}")
        for i, d, c in lines
    )


def compare(report, expected):
    for key, value in expected.items():
        got = getattr(report, key)
        if value is None:
            assert got is None, key
        else:
            assert got == value, (key, got, value)
    # identity of SPEC §3
    assert report.revenue == (report.retained_revenue + report.earned_new_revenue
                              + report.bought_new_revenue + report.unknown_new_revenue)
    # JSON rates: rounded, half away from zero (README "NPS reports": every rounded figure), 6 places
    data = report.as_json()
    for key in ("nrr", "grr", "enc", "bnc", "unc", "earned_growth_rate", "total_growth_rate"):
        value = expected[key]
        if value is None:
            assert data[key] is None
        else:
            assert Decimal(data[key]) == value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP), key


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(world=worlds(), period=st.sampled_from(PERIODS), cmp=st.sampled_from(["prior", "yoy"]),
       grain=st.sampled_from(["entity", "customer"]))
def test_earned_growth_equals_an_independent_reference(world, period, cmp, grain):
    people, lines = world
    C = parse_period(period)
    P = C.prior(cmp)
    with transaction.atomic():
        store(people, lines)
        for segment in (None, "X"):
            compare(earned_growth(period=C, compare=cmp, grain=grain, segment=segment),
                    ref(people, lines, C, P, grain, segment))
        for row in earned_growth_by_segment(period=C, compare=cmp, grain=grain):
            compare(row, ref(people, lines, C, P, grain, row.segment))
        transaction.set_rollback(True)


def test_json_rates_round_half_away_from_zero():
    """0.1234565 is exactly half-way at 6 places: README says every rounded figure rounds half away
    from zero; the earned-growth JSON (API, --json) rounds it half to even."""
    assert rate_text(Decimal("0.1234565")) == "0.123457"


@pytest.mark.django_db
def test_api_rate_for_an_exact_half_rounds_away_from_zero(api_client_as):
    """R_P 200,000.00, retained 24,691.30: nrr = 0.1234565 exactly."""
    a = CustomerFactory(reason=reason("recommendation"))
    b = CustomerFactory(reason=reason("recommendation"))
    RevenueEntry.objects.create(customer=a, date=dt.date(2024, 5, 1), amount=Decimal("100000.00"), external_ref="h1")
    RevenueEntry.objects.create(customer=b, date=dt.date(2024, 5, 1), amount=Decimal("100000.00"), external_ref="h2")
    RevenueEntry.objects.create(customer=a, date=dt.date(2025, 5, 1), amount=Decimal("24691.30"), external_ref="h3")
    response = api_client_as("viewer").get("/api/reports/earned-growth/", {"period": "2025"})
    assert response.status_code == 200
    assert response.json()["nrr"] in ("0.123457", 0.123457)
