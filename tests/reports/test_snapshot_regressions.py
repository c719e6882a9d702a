"""Snapshot regressions: the nightly run refreshes every snapshot a page view made of the recent
periods; a recompute that failed within the request says so."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from reports import snapshots
from reports.models import ReportSnapshot, SnapshotKind, SnapshotStatus
from reports.snapshots import snapshot_is_stale, snapshot_request
from reports.tasks import compute_periodic_snapshots
from tests.factories import CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db

NIGHT = dt.datetime(2025, 8, 10, 2, tzinfo=dt.UTC)


@pytest.fixture
def ledger(db):
    grows = CustomerFactory(reason=reason("recommendation"))
    pay(grows, "2025-04-10", "50.00")
    pay(grows, "2025-07-10", "60.00")
    pay(CustomerFactory(reason=reason("advertising")), "2025-07-20", "20.00")
    return grows


@pytest.mark.parametrize("options", [{"grain": "customer"}, {"compare": "yoy"}])
def test_the_nightly_run_refreshes_an_all_customers_snapshot_of_other_options(
    ledger, options, django_capture_on_commit_callbacks
):
    """It refreshed every existing segment snapshot of the recent periods but skipped the
    all-customers ones of customer grain or a yoy comparison: a viewer read them stale, night after
    night, until someone with the recompute permission pressed the button."""
    yesterday = time_machine.travel(NIGHT - dt.timedelta(days=1))
    with yesterday, django_capture_on_commit_callbacks(execute=True):  # a page view filled it
        snapshot_request(period="2025-Q3", **options)
        snapshot_request(period="2025-Q3", segment="SMB", **options)
    pay(CustomerFactory(reason=reason("reputation")), "2025-08-01", "30.00")  # today's import

    with time_machine.travel(NIGHT), django_capture_on_commit_callbacks(execute=True):
        compute_periodic_snapshots()

    segment = ReportSnapshot.objects.get(period="2025-Q3", segment="SMB", **options)
    assert not snapshot_is_stale(segment)  # refreshed, as the README says
    everyone = ReportSnapshot.objects.get(period="2025-Q3", segment="", **options)
    assert not snapshot_is_stale(everyone), "the all-customers snapshot of these options was left stale"


def run_at_once(callback, robust=False):
    """on_commit as eager mode meets it outside a test's transaction: at once (robust: errors kept)."""
    try:
        callback()
    except Exception:
        if not robust:
            raise


# Its dashboard fills on view only the last three years' periods, counted from today: from 2027 the
# yearly trend's 2023 was recomputed with 2025 and the message named "1 other period".
@time_machine.travel(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC), tick=False)
def test_a_recompute_that_failed_within_the_request_says_so(client_as):
    """In eager mode (the embedded default) the recompute runs within the POST (nothing holds its
    commit back): a failure must not be announced as "the figures update when it is done"."""
    customer = CustomerFactory(reason=reason("recommendation"))
    pay(customer, "2024-03-01", "100.00")
    pay(customer, "2025-03-01", "130.00")
    client = client_as("analyst")
    failing = mock.Mock(side_effect=ValueError("boom"))

    with mock.patch("reports.snapshots.transaction.on_commit", run_at_once):
        client.get(reverse("reports:earned-growth"), {"period": "2025"})  # fills its snapshots
        with mock.patch.dict(snapshots.COMPUTERS, {SnapshotKind.EARNED_GROWTH: failing}):
            response = client.post(
                reverse("reports:earned-growth-recompute"),
                {"period": "2025", "compare": "prior", "grain": "entity", "segment": ""},
            )

    assert response.status_code == 302
    snapshot = ReportSnapshot.objects.get(kind=SnapshotKind.EARNED_GROWTH, period="2025", segment="")
    assert snapshot.status == SnapshotStatus.FAILED
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert texts == ["Recompute of 2025 failed: see the error on the page."], texts
