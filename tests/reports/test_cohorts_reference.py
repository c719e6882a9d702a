"""Earned vs bought cohorts against an independent reference (SPEC §3 "Also",
reports/cohorts.py docstring for the choices it documents)."""

import datetime as dt
import itertools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.models import CostEntry, RevenueEntry
from reports.cohorts import AGES, cohort_report
from reports.periods import period_containing
from tests.factories import CustomerFactory, reason

CLASS = {"recommendation": "earned", "advertising": "bought"}
_refs = itertools.count()


def mi(day):
    return day.year * 12 + day.month


@st.composite
def worlds(draw):
    people = []
    for i in range(draw(st.integers(1, 6))):
        parent = draw(st.none() | st.integers(0, i - 1)) if i else None
        people.append(dict(
            parent=parent,
            reason=draw(st.sampled_from([None, "recommendation", "advertising", "other"])),
            acquired=draw(st.none() | st.dates(dt.date(2022, 1, 1), dt.date(2024, 12, 31))),
            cost=draw(st.none() | st.integers(0, 50_000)),
            segment=draw(st.sampled_from(["A", "B"])),
        ))
    day = st.dates(dt.date(2021, 6, 1), dt.date(2026, 12, 31))
    rev = draw(st.lists(st.tuples(st.integers(0, len(people) - 1), day, st.integers(-5000, 20000)), max_size=25))
    costs = draw(st.lists(st.tuples(st.integers(0, len(people) - 1), day, st.integers(0, 5000),
                                    st.sampled_from(["serve", "acquisition"])), max_size=12))
    return people, rev, costs


def klass(p):
    return CLASS.get(p["reason"], "unknown") if p["reason"] else "unknown"


def reference(people, rev, costs, by, grain, as_of, segment):
    def top(i):
        while grain == "entity" and people[i]["parent"] is not None:
            i = people[i]["parent"]
        return i

    units = {top(i) for i in range(len(people))}
    if segment:
        units = {u for u in units if people[u]["segment"] == segment}
    monthly = defaultdict(int)  # (unit, month index) -> cents
    for i, day, cents in rev:
        monthly[(top(i), mi(day))] += cents
    groups = defaultdict(lambda: {"customers": 0, "base": [0] * 4, "retained": [0] * 4, "net": [0] * 4})
    for u in units:
        acq = people[u]["acquired"]
        if acq is None:
            continue
        cohort = period_containing(acq, by)
        g = groups[(cohort.start, klass(people[u]))]
        g["customers"] += 1
        for k, age in enumerate(AGES):
            if not mi(cohort.end) + age < mi(as_of):
                continue
            g["base"][k] += 1
            g["retained"][k] += monthly[(u, mi(acq) + age)] > 0
            end = mi(acq) + age  # inclusive month index
            net = sum(c for i, day, c in rev if top(i) == u and mi(acq) <= mi(day) <= end)
            net -= sum(c for i, day, c, kind in costs if top(i) == u and kind == "serve" and mi(acq) <= mi(day) <= end)
            net -= sum(c for i, day, c, kind in costs if top(i) == u and kind == "acquisition" and mi(day) <= end)
            net -= sum(people[i]["cost"] or 0 for i in range(len(people)) if top(i) == u)
            g["net"][k] += net
    return groups


def store(people, rev, costs):
    rows = []
    for p in people:
        rows.append(CustomerFactory(
            parent=rows[p["parent"]] if p["parent"] is not None else None,
            reason=reason(p["reason"]) if p["reason"] else None,
            reason_text="x" if p["reason"] == "other" else "",
            acquired_on=p["acquired"],
            acquisition_cost=Decimal(p["cost"]).scaleb(-2) if p["cost"] is not None else None,
            segment=p["segment"],
        ))
    RevenueEntry.objects.bulk_create(
        RevenueEntry(customer=rows[i], date=d, amount=Decimal(c).scaleb(-2), external_ref=f"FMLC{next(_refs)}")
        for i, d, c in rev)
    CostEntry.objects.bulk_create(
        CostEntry(customer=rows[i], date=d, amount=Decimal(c).scaleb(-2), kind=k, external_ref=f"FMLK{next(_refs)}")
        for i, d, c, k in costs)


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(world=worlds(), by=st.sampled_from(["quarter", "month"]), grain=st.sampled_from(["entity", "customer"]),
       as_of=st.dates(dt.date(2022, 6, 1), dt.date(2027, 6, 1)), segment=st.sampled_from([None, "A"]))
def test_cohorts_equal_an_independent_reference(world, by, grain, as_of, segment):
    people, rev, costs = world
    with transaction.atomic():
        store(people, rev, costs)
        report = cohort_report(by=by, grain=grain, segment=segment, as_of=as_of)
        expected = reference(people, rev, costs, by, grain, as_of, segment)
        got = {(row.cohort.start, row.kind): row for row in report.rows}
        assert set(got) == set(expected)
        for key, exp in expected.items():
            row = got[key]
            assert row.customers == exp["customers"], key
            assert list(row.base) == exp["base"], key
            assert list(row.retained) == exp["retained"], key
            assert [int(x * 100) for x in row.net] == exp["net"], (key, row.net, exp["net"])
            for k in range(4):
                if exp["base"][k]:
                    want = (Decimal(exp["net"][k]) / 100 / exp["base"][k]).quantize(Decimal("0.01"), ROUND_HALF_UP)
                    assert row.net_per_customer[k] == want
                else:
                    assert row.net_per_customer[k] is None
        transaction.set_rollback(True)
