"""A report snapshot whose computation keeps failing: retried, then left failed, its error visible
to staff on the earned-growth dashboard and in the admin (issue "Production readiness", part 2)."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

from reports import snapshots
from reports.models import ReportSnapshot, SnapshotKind, SnapshotStatus
from reports.tasks import MAX_RETRIES, compute_snapshot
from tests.factories import CustomerFactory, RevenueEntryFactory

pytestmark = pytest.mark.django_db

ERROR = "server closed the connection unexpectedly"


@pytest.fixture
def failed_snapshot(eager_retries):
    customer = CustomerFactory()
    RevenueEntryFactory(customer=customer, date=dt.date(2024, 3, 1), amount=Decimal("100.00"))
    RevenueEntryFactory(customer=customer, date=dt.date(2025, 3, 1), amount=Decimal("130.00"))
    snapshot = ReportSnapshot.objects.create(kind=SnapshotKind.EARNED_GROWTH, period="2025")
    failing = mock.Mock(side_effect=OperationalError(ERROR))

    with mock.patch.dict(snapshots.COMPUTERS, {SnapshotKind.EARNED_GROWTH: failing}):
        result = compute_snapshot.delay(snapshot.pk)

    assert result.failed() and isinstance(result.result, OperationalError)
    assert failing.call_count == 1 + MAX_RETRIES  # the first try and every retry, then it gives up
    snapshot.refresh_from_db()
    return snapshot


def test_a_failing_report_is_retried_then_left_failed_with_its_error(failed_snapshot):
    assert failed_snapshot.status == SnapshotStatus.FAILED
    assert failed_snapshot.error == f"OperationalError: {ERROR}"
    assert failed_snapshot.figures in ({}, None) and failed_snapshot.computed_at is None


def test_the_error_shows_on_the_dashboard(failed_snapshot, client_as):
    page = client_as("admin").get(reverse("reports:earned-growth"), {"period": "2025"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "last computation failed" in html
    assert f"OperationalError: {ERROR}" in html


def test_the_error_shows_in_the_admin(failed_snapshot, client_as):
    client = client_as("admin")

    listing = client.get(reverse("admin:reports_reportsnapshot_changelist"))
    detail = client.get(reverse("admin:reports_reportsnapshot_change", args=[failed_snapshot.pk]))

    assert listing.status_code == 200 and detail.status_code == 200
    assert "failed" in listing.content.decode().lower()
    assert ERROR in detail.content.decode()


@pytest.mark.django_db(transaction=True)  # outside a transaction, as a worker runs it
def test_a_computation_cut_by_a_database_restart_is_computed_by_the_task_s_retry(eager_retries, monkeypatch):
    """The restart broke the computation and then the record of its failure (two tries at once, the
    database not back yet): the row stayed running, the retry found it claimed and skipped it, and
    the sweeper took it 12 minutes later for a lost worker's (an interruption counted)."""
    snapshot = ReportSnapshot.objects.create(kind=SnapshotKind.NPS, period="2025")
    computer, cuts = snapshots.COMPUTERS[SnapshotKind.NPS], []

    def cut_once(snapshot):
        if not cuts:
            cuts.append(snapshot.pk)
            raise OperationalError(ERROR)
        return computer(snapshot)

    mine, refused = snapshots._mine, [OperationalError("the database system is starting up")] * 2

    def restarting(*args):
        rows = mine(*args)
        update = rows.update

        def failed_when_back(**fields):
            if fields.get("status") == SnapshotStatus.FAILED and refused:
                raise refused.pop()
            return update(**fields)

        rows.update = failed_when_back
        return rows

    monkeypatch.setattr(snapshots, "_mine", restarting)
    monkeypatch.setattr("cxplatform.reconnect.RECONNECT_PAUSES", (0, 0, 0))
    with mock.patch.dict(snapshots.COMPUTERS, {SnapshotKind.NPS: cut_once}):
        compute_snapshot.delay(snapshot.pk)

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.interruptions, snapshot.error) == (SnapshotStatus.DONE, 0, "")
    assert not refused
