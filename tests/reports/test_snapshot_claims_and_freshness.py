"""Report snapshots (SPEC §6): what a request resets, whose claim may store, what a write during a
computation leaves behind, and which snapshot a dashboard reads. Each test pins a behaviour a
mutation audit found no test for."""

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from reports import snapshots
from reports.models import ReportSnapshot, SnapshotStatus
from reports.snapshots import (
    MAX_INTERRUPTIONS,
    snapshot_compute,
    snapshot_is_stale,
    snapshot_latest,
    snapshot_request,
)
from tests.factories import CustomerFactory, pay

pytestmark = pytest.mark.django_db


def test_a_new_request_clears_the_last_failure_and_its_interruptions_before_it_runs(
    company_a, django_capture_on_commit_callbacks
):
    """A row failed after MAX_INTERRUPTIONS lost workers shows no stale error once requested again,
    and its interruption count starts over: the next lost worker must not fail it at once."""
    snapshot = ReportSnapshot.objects.create(
        kind="earned_growth", period="2025", status=SnapshotStatus.FAILED,
        error="The computation was interrupted 3 times", interruptions=MAX_INTERRUPTIONS,
    )

    with django_capture_on_commit_callbacks(execute=False):  # the message is still queued
        requested = snapshot_request(period="2025")

    assert requested.pk == snapshot.pk
    assert (requested.status, requested.error, requested.interruptions) == (SnapshotStatus.PENDING, "", 0)


def test_taking_over_an_abandoned_claim_counts_as_an_interruption(company_a, django_capture_on_commit_callbacks):
    """A message that takes over a dead worker's claim counts it, as the sweeper does: otherwise a
    computation that kills its worker is never capped when late messages keep picking it up."""
    with django_capture_on_commit_callbacks(execute=False):
        snapshot = snapshot_request(period="2025")
    long_ago = timezone.now() - snapshots._abandoned_after() - dt.timedelta(minutes=1)
    ReportSnapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.RUNNING, started_at=long_ago)

    assert snapshots._claim(snapshot.pk) is not None

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.interruptions) == (SnapshotStatus.RUNNING, 1)


def test_a_claim_taken_over_by_another_worker_cannot_store_its_figures(company_a, django_capture_on_commit_callbacks):
    """A slow worker whose claim another worker took over (still running, newer started_at) stores
    nothing: only the current claim writes the figures."""
    with django_capture_on_commit_callbacks(execute=False):
        snapshot = snapshot_request(period="2025")
    newer_claim = timezone.now() + dt.timedelta(minutes=15)

    def taken_over_meanwhile(row):
        ReportSnapshot.objects.filter(pk=row.pk).update(status=SnapshotStatus.RUNNING, started_at=newer_claim)
        return {"revenue": "from the old claim"}

    with mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": taken_over_meanwhile}):
        assert snapshot_compute(snapshot_id=snapshot.pk) is None

    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.RUNNING and snapshot.started_at == newer_claim
    assert snapshot.figures == {}


def test_revenue_written_during_the_computation_leaves_the_snapshot_stale(
    company_a, django_capture_on_commit_callbacks
):
    """The fingerprint is taken before the figures: a ledger line landing between the two makes
    the snapshot look stale (and be recomputed), never fresh with figures that miss the line."""
    with django_capture_on_commit_callbacks(execute=False):
        snapshot = snapshot_request(period="2025")
    compute = snapshots.COMPUTERS["earned_growth"]

    def a_line_lands_meanwhile(row):
        figures = compute(row)
        pay(CustomerFactory(), "2025-08-01", "10.00")  # after the figures were read
        return figures

    with mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": a_line_lands_meanwhile}):
        stored = snapshot_compute(snapshot_id=snapshot.pk)

    assert stored.figures["revenue"] == "130.00"
    assert snapshot_is_stale(stored)


def test_the_latest_snapshot_is_the_one_of_the_comparison_asked_for(db):
    """A quarter compared year on year and the same quarter against the prior quarter are two
    snapshots: the dashboard reading one must never be handed the other's figures."""
    prior = ReportSnapshot.objects.create(kind="earned_growth", period="2025-Q3", compare="prior",
                                          figures={"prior_period": "2025-Q2"})
    yoy = ReportSnapshot.objects.create(kind="earned_growth", period="2025-Q3", compare="yoy",
                                        figures={"prior_period": "2024-Q3"})

    assert snapshot_latest(period="2025-Q3", compare="prior").pk == prior.pk
    assert snapshot_latest(period="2025-Q3", compare="yoy").pk == yoy.pk
