"""A segment's snapshot goes stale when customers move in or out of the segment, and the nightly
run refreshes it: its figures are those of the segment's customers, not only of the ledger."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounting.models import Customer
from reports.earned_growth import earned_growth
from reports.models import ReportSnapshot, SnapshotKind, SnapshotStatus
from reports.periods import parse_period
from reports.snapshots import snapshot_is_stale, snapshot_request
from reports.tasks import compute_periodic_snapshots
from tests.factories import CustomerFactory, pay

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:reports_reportsnapshot_changelist"


@pytest.fixture
def smb(django_capture_on_commit_callbacks):
    """Two SMB customers paying in 2024 and 2025, one Enterprise customer; SMB's 2025 snapshot."""
    stays, moves = CustomerFactory(segment="SMB"), CustomerFactory(segment="SMB")
    other = CustomerFactory(segment="Enterprise")
    for customer in (stays, moves, other):
        pay(customer, "2024-03-01", "100.00")
        pay(customer, "2025-03-01", "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = snapshot_request(period="2025", segment="SMB")
    snapshot.refresh_from_db()
    assert snapshot.figures["revenue"] == "200.00" and not snapshot_is_stale(snapshot)
    return snapshot, moves, other


def live_smb_revenue() -> str:
    return earned_growth(period=parse_period("2025"), segment="SMB").as_json()["revenue"]


def move(customer, segment):
    """As an import's bulk update does: no save(), no signal, `updated_at` left as it was."""
    Customer.objects.filter(pk=customer.pk).update(segment=segment)


def test_moving_a_customer_out_by_the_api_makes_the_segment_snapshot_stale(smb, api_client_as):
    snapshot, moves, _ = smb

    response = api_client_as("analyst").patch(
        reverse("api-customer-detail", args=[moves.pk]), {"segment": "Enterprise"}, format="json"
    )

    assert response.status_code == 200
    assert live_smb_revenue() != snapshot.figures["revenue"]
    assert snapshot_is_stale(snapshot)


def test_a_customer_moving_in_or_swapped_for_another_makes_it_stale(smb):
    snapshot, moves, other = smb

    move(other, "SMB")  # one in: SMB earns 300
    assert snapshot_is_stale(snapshot)
    move(moves, "Enterprise")  # and one out: as many customers as before, other ones
    assert snapshot_is_stale(snapshot)


def test_the_all_customers_snapshot_does_not_depend_on_segments(smb, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        everyone = snapshot_request(period="2025")
    everyone.refresh_from_db()

    move(smb[1], "Enterprise")

    assert not snapshot_is_stale(everyone)  # its figures did not move: no needless recompute


def test_the_segment_dashboard_flags_pre_move_figures_as_stale(smb, api_client_as, client_as):
    _, moves, _ = smb
    api_client_as("analyst").patch(
        reverse("api-customer-detail", args=[moves.pk]), {"segment": "Enterprise"}, format="json"
    )

    page = client_as("viewer").get(reverse("reports:earned-growth"), {"period": "2025", "segment": "SMB"})

    assert page.status_code == 200
    assert page.context["dashboard"].current.stale
    html = page.content.decode()
    assert "up to date" not in html and "the segment's customers" in html


def test_the_admin_flags_a_segment_snapshot_stale_with_one_query_for_every_segment(
    smb, client, admin, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    snapshot, moves, _ = smb
    with django_capture_on_commit_callbacks(execute=True):
        snapshot_request(period="2025", segment="Enterprise")
    move(moves, "Enterprise")
    client.force_login(admin)
    client.get(reverse(CHANGELIST))  # warm up (sessions, content types)

    with django_assert_max_num_queries(20):
        page = client.get(reverse(CHANGELIST))

    assert page.status_code == 200
    assert page.content.decode().count('alt="True"') == 2  # both segments' snapshots are stale


@time_machine.travel(dt.datetime(2025, 8, 15, 12, tzinfo=dt.UTC), tick=False)
def test_the_nightly_run_refreshes_recent_segment_snapshots(smb, django_capture_on_commit_callbacks):
    snapshot, moves, _ = smb
    old = ReportSnapshot.objects.create(kind=SnapshotKind.EARNED_GROWTH, period="2021", segment="SMB")
    move(moves, "Enterprise")

    with django_capture_on_commit_callbacks(execute=True):
        compute_periodic_snapshots.delay(kinds=["earned_growth"])

    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.DONE and snapshot.figures["revenue"] == live_smb_revenue() == "100.00"
    assert not snapshot_is_stale(snapshot)
    old.refresh_from_db()
    assert old.status == SnapshotStatus.PENDING and not old.figures  # not a recent period: left alone
    segments = ReportSnapshot.objects.exclude(segment="").values_list("period", "segment")
    assert sorted(segments) == [("2021", "SMB"), ("2025", "SMB")]  # no new segment rows


def test_the_admin_leaves_a_segment_snapshot_nobody_moved_out_of_unflagged(smb, client, admin):
    """The changelist's flag compares a segment's snapshot with that segment's own members: one
    computed from the current customers is up to date, not stale for want of a segment key."""
    client.force_login(admin)

    page = client.get(reverse(CHANGELIST))

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('alt="False"') == 1 and 'alt="True"' not in html
