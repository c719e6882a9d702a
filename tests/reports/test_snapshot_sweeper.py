"""A worker killed mid-computation: the redelivered message skips the recent claim, and the sweeper
(beat, every 5 minutes) computes the snapshot again minutes after the claim is abandoned, never
while it may still be live, and gives up on a snapshot that keeps killing its worker."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from reports import snapshots, tasks
from reports.models import ReportSnapshot, SnapshotStatus
from reports.snapshots import snapshot_request
from reports.tasks import compute_snapshot, sweep_snapshots

pytestmark = pytest.mark.django_db
SWEEP_EVERY = dt.timedelta(minutes=5)
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def killed(company_a, clock, django_capture_on_commit_callbacks):
    """A requested snapshot whose worker claimed it and was then killed (no failure recorded)."""
    with django_capture_on_commit_callbacks(execute=False):  # the message went to worker A
        snapshot = snapshot_request(period="2025")
    assert snapshots._claim(snapshot.pk) is not None  # worker A claims, then SIGKILL
    return snapshot


def status(snapshot) -> str:
    snapshot.refresh_from_db()
    return snapshot.status


def test_the_redelivered_message_does_not_compute_it_beside_the_live_claim(killed):
    # acks_late + reject_on_worker_lost: the message comes back at once; the claim may still be live
    assert compute_snapshot.apply(args=[killed.pk]).get() == "skipped"
    assert status(killed) == SnapshotStatus.RUNNING


def test_the_sweeper_resumes_a_killed_computation_within_minutes(killed, clock):
    compute_snapshot.apply(args=[killed.pk])  # skipped, as above
    resumed_at = None
    for sweep in range(1, 7):  # 30 minutes of sweeps, every 5 minutes
        clock.shift(SWEEP_EVERY)
        sweep_snapshots.delay()  # eager: the re-enqueued computation runs inline
        if status(killed) == SnapshotStatus.DONE:
            resumed_at = sweep * SWEEP_EVERY
            break

    assert resumed_at is not None and resumed_at <= dt.timedelta(minutes=15)
    assert killed.figures["revenue"] == "130.00" and killed.interruptions == 0


def test_the_sweeper_leaves_a_claim_that_may_still_be_live_alone(killed, clock):
    clock.shift(compute_snapshot.time_limit)  # the hard limit may not have killed it yet

    with mock.patch.object(tasks.compute_snapshot, "delay") as enqueue:
        assert sweep_snapshots.delay().get() == 0

    enqueue.assert_not_called()
    assert status(killed) == SnapshotStatus.RUNNING


def test_a_claim_is_abandoned_only_after_the_task_hard_time_limit():
    # the hard limit kills a computation before its claim counts as abandoned: never two at once
    assert compute_snapshot.time_limit < snapshots._abandoned_after().total_seconds()
    assert compute_snapshot.soft_time_limit < compute_snapshot.time_limit


def test_the_lost_claim_cannot_store_its_figures_once_released(killed, clock):
    lost_claim = ReportSnapshot.objects.get(pk=killed.pk).started_at
    clock.shift(snapshots._abandoned_after() + dt.timedelta(seconds=1))

    with mock.patch.object(tasks.compute_snapshot, "delay") as enqueue:
        sweep_snapshots.delay()

    enqueue.assert_called_once_with(killed.pk)
    assert status(killed) == SnapshotStatus.PENDING and killed.interruptions == 1
    assert not snapshots._mine(killed.pk, lost_claim).exists()


def test_a_snapshot_that_keeps_killing_its_worker_is_marked_failed_until_requested_again(
    killed, clock, django_capture_on_commit_callbacks
):
    with mock.patch.object(tasks.compute_snapshot, "delay") as enqueue:
        for interruption in range(1, snapshots.MAX_INTERRUPTIONS + 1):
            if interruption > 1:
                assert snapshots._claim(killed.pk) is not None  # picked up again, killed again
            clock.shift(snapshots._abandoned_after() + dt.timedelta(seconds=1))
            sweep_snapshots.delay()

    assert enqueue.call_count == snapshots.MAX_INTERRUPTIONS - 1
    assert status(killed) == SnapshotStatus.FAILED
    assert "interrupted 3 times" in killed.error

    clock.shift(SWEEP_EVERY)
    with mock.patch.object(tasks.compute_snapshot, "delay") as enqueue:
        sweep_snapshots.delay()
    enqueue.assert_not_called()  # a failed row is left for a person or the nightly run

    with django_capture_on_commit_callbacks(execute=True):
        snapshot_request(period="2025")
    assert status(killed) == SnapshotStatus.DONE and killed.interruptions == 0


def test_a_pending_snapshot_whose_message_was_lost_is_enqueued_again_once_per_window(
    company_a, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the broker lost the message
        snapshot = snapshot_request(period="2025")
    clock.shift(snapshots._abandoned_after() + dt.timedelta(seconds=1))

    with mock.patch.object(tasks.compute_snapshot, "delay") as enqueue:
        sweep_snapshots.delay()
        clock.shift(SWEEP_EVERY)
        sweep_snapshots.delay()  # still queued behind other work: not enqueued twice

    enqueue.assert_called_once_with(snapshot.pk)


def test_the_nightly_run_resumes_an_abandoned_claim_too(killed, clock, django_capture_on_commit_callbacks):
    other = ReportSnapshot.objects.create(kind="earned_growth", period="2021", segment="Enterprise")
    ReportSnapshot.objects.filter(pk=other.pk).update(status=SnapshotStatus.RUNNING, started_at=timezone.now())
    clock.shift(snapshots._abandoned_after() + dt.timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.compute_periodic_snapshots.delay(periods=["year"])

    assert status(other) == SnapshotStatus.DONE and other.figures["period"] == "2021"


def test_a_migration_schedules_the_sweeper_every_five_minutes_for_the_admin_to_edit():
    task = PeriodicTask.objects.get(name="Report snapshot sweeper")

    assert task.task == "reports.tasks.sweep_snapshots" and task.enabled
    assert task.interval.every == 5 and task.interval.period == "minutes"
    assert task.task in sweep_snapshots.app.tasks


def test_a_duplicate_message_does_not_take_over_a_claim_past_the_cap(killed, clock):
    ReportSnapshot.objects.filter(pk=killed.pk).update(interruptions=snapshots.MAX_INTERRUPTIONS - 1)
    clock.shift(snapshots._abandoned_after() + dt.timedelta(minutes=1))

    assert compute_snapshot.apply(args=[killed.pk]).get() == "skipped"  # not a fourth run
    sweep_snapshots.delay()
    assert status(killed) == SnapshotStatus.FAILED
