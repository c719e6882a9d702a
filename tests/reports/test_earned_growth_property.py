"""The earned-growth aggregate on random ledgers: the identity of SPEC §3 to the cent, and the
database's figures equal to a plain-Python reference computed on the same data.

The reference below is written from SPEC §3 and the engine's module docstring, independently of
the SQL: it walks parents to the top ancestor, buckets entries by date, and sums integer cents.
"""

import datetime as dt
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.models import Customer, RevenueEntry
from accounting.services import customers_refresh_entities
from reports.earned_growth import earned_growth, earned_growth_by_segment
from reports.periods import parse_period
from tests.factories import CustomerFactory, reason

# The SPEC §2 default categories, written out here rather than read from the database.
KINDS = {
    "recommendation": "earned", "reputation": "earned", "returning": "earned",
    "salesperson": "bought", "advertising": "bought", "promotion": "bought", "other": "unknown",
}
REASONS = [None, "recommendation", "returning", "advertising", "promotion", "other"]
MAPPED = [None, "reputation", "salesperson"]
SEGMENTS = ["A", "B"]
# Period edges, so that entries often fall just inside or just outside P and C.
EDGES = [
    dt.date(*ymd) for ymd in [
        (2023, 6, 15), (2024, 3, 1), (2024, 3, 31), (2024, 4, 1), (2024, 6, 30), (2024, 12, 31),
        (2025, 1, 1), (2025, 2, 28), (2025, 3, 1), (2025, 3, 31), (2025, 4, 1), (2025, 6, 30), (2025, 12, 31),
    ]
]
CASES = [("2025", "prior"), ("2025-Q2", "prior"), ("2025-Q2", "yoy"), ("2025-03", "yoy"), ("2025-03", "prior")]
MONEY = [
    "prior_revenue", "revenue", "retained_revenue", "gross_retained_revenue", "expansion_revenue",
    "contraction_revenue", "churned_revenue", "earned_new_revenue", "bought_new_revenue", "unknown_new_revenue",
    "reactivated_revenue",
]
refs = itertools.count()


@dataclass(frozen=True)
class Spec:
    parent: int | None  # index of an earlier customer
    reason: str | None
    mapped: str | None
    segment: str

    @property
    def kind(self) -> str:
        if self.mapped:
            return KINDS[self.mapped]
        return "unknown" if self.reason in (None, "other") else KINDS[self.reason]


@st.composite
def ledgers(draw):
    customers = []
    for index in range(draw(st.integers(1, 6))):
        parent = draw(st.none() | st.integers(0, index - 1)) if index else None
        why = draw(st.sampled_from(REASONS))
        mapped = draw(st.sampled_from(MAPPED)) if why == "other" else None
        customers.append(Spec(parent, why, mapped, draw(st.sampled_from(SEGMENTS))))
    day = st.sampled_from(EDGES) | st.dates(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    entry = st.tuples(st.integers(0, len(customers) - 1), day, st.integers(-5_000, 20_000))
    return customers, draw(st.lists(entry, max_size=25))


def reference(customers, entries, period, prior, grain, segment=None) -> dict:
    """Every summed figure of SPEC §3, in cents, from Python lists."""

    def unit_of(index):
        while grain == "entity" and customers[index].parent is not None:
            index = customers[index].parent
        return index

    rp, rc, before = defaultdict(int), defaultdict(int), set()
    for index, day, cents in entries:
        unit = unit_of(index)
        if prior.start <= day <= prior.end:
            rp[unit] += cents
        elif period.start <= day <= period.end:
            rc[unit] += cents
        elif day < period.start and cents > 0:
            before.add(unit)
    t = Counter({key: 0 for key in MONEY})
    for unit in set(rp) | set(rc):
        if segment is not None and customers[unit].segment != segment:
            continue
        p, c = rp[unit], rc[unit]
        t["prior_revenue"] += p
        t["revenue"] += c
        if p > 0:
            t["cohort_units"] += 1
            t["retained_revenue"] += c
            t["gross_retained_revenue"] += min(p, c)
            t["expansion_revenue"] += max(c - p, 0)
            t["contraction_revenue"] += p - c if 0 < c < p else 0
            t["churned_revenue"] += p - c if c <= 0 else 0
            continue
        kind = customers[unit].kind
        t["churned_revenue"] += p  # P revenue of units outside K (net refunds), see the engine's docstring
        t[f"{kind}_new_revenue"] += c
        t[f"new_{kind}"] += c != 0
        if unit in before:
            t["reactivated_revenue"] += c
            t["reactivated_units"] += c != 0
    return t


def store(customers, entries):
    rows = []
    for spec in customers:
        rows.append(
            CustomerFactory(
                parent=rows[spec.parent] if spec.parent is not None else None,
                reason=reason(spec.reason) if spec.reason else None,
                reason_text="something else" if spec.reason == "other" else "",
                reason_mapped_to=reason(spec.mapped) if spec.mapped else None,
                segment=spec.segment,
            )
        )
    RevenueEntry.objects.bulk_create(
        RevenueEntry(customer=rows[index], date=day, amount=Decimal(cents).scaleb(-2), external_ref=f"H{next(refs)}")
        for index, day, cents in entries
    )


def assert_matches(report, expected):
    for key in MONEY:
        assert getattr(report, key) == Decimal(expected[key]).scaleb(-2), key
    assert report.cohort_units == expected["cohort_units"]
    assert report.new_units == {kind: expected[f"new_{kind}"] for kind in ("earned", "bought", "unknown")}
    assert report.reactivated_units == expected["reactivated_units"]
    # SPEC §3, to the cent.
    assert report.revenue == (
        report.retained_revenue + report.earned_new_revenue + report.bought_new_revenue + report.unknown_new_revenue
    )
    assert report.retained_revenue == (
        report.prior_revenue + report.expansion_revenue - report.contraction_revenue - report.churned_revenue
    )
    if report.prior_revenue > 0:
        earned = report.retained_revenue + report.earned_new_revenue
        assert report.earned_growth_rate == earned / report.prior_revenue - 1
    else:  # no ratio over a prior period without revenue, or with net credits
        assert report.earned_growth_rate is None and report.total_growth_rate is None


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, database=None)
@given(ledger=ledgers(), case=st.sampled_from(CASES), grain=st.sampled_from(["entity", "customer"]))
def test_the_database_aggregate_equals_the_python_reference_and_keeps_the_identity(ledger, case, grain):
    customers, entries = ledger
    period = parse_period(case[0])
    prior = period.prior(case[1])
    with transaction.atomic():  # a savepoint per example, rolled back below
        store(customers, entries)

        for segment in (None, "A"):
            report = earned_growth(period=period, compare=case[1], grain=grain, segment=segment)
            assert_matches(report, reference(customers, entries, period, prior, grain, segment))
        for row in earned_growth_by_segment(period=period, compare=case[1], grain=grain):
            assert_matches(row, reference(customers, entries, period, prior, grain, row.segment))

        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, database=None)
@given(ledger=ledgers(), data=st.data(), case=st.sampled_from(CASES[:3]))
def test_reports_follow_customers_that_move_to_another_entity_after_their_revenue(ledger, data, case):
    """Parents change after the lines are in: the entity roll-up (PostgreSQL) must follow."""
    customers, entries = ledger
    period = parse_period(case[0])
    with transaction.atomic():
        store(customers, entries)
        stored = list(Customer.objects.order_by("-pk")[:len(customers)])[::-1]
        for index in range(1, len(customers)):  # a new parent among the earlier ones, or none
            parent = data.draw(st.none() | st.integers(0, index - 1))
            customers[index] = replace(customers[index], parent=parent)
            Customer.objects.filter(pk=stored[index].pk).update(
                parent=stored[parent] if parent is not None else None)
        customers_refresh_entities()

        report = earned_growth(period=period, compare=case[1], grain="entity")
        assert_matches(report, reference(customers, entries, period, period.prior(case[1]), "entity"))

        transaction.set_rollback(True)
