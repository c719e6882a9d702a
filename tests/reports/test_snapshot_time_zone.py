"""NPS periods are local months (settings.TIME_ZONE): an NPS snapshot computed under another time
zone counts answers in other months, so it must not read as current. Earned growth reads dates
only, so a new time zone leaves its snapshots as they were."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from reports.models import SnapshotKind
from reports.nps import nps_report
from reports.periods import parse_period
from reports.snapshots import snapshot_is_stale, snapshot_request
from surveys.models import InvitationState, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"


def in_zone(zone):
    return override_settings(TIME_ZONE=zone), timezone.override(zone)


@pytest.fixture
def computed(django_capture_on_commit_callbacks):
    def compute(kind, period):
        with django_capture_on_commit_callbacks(execute=True):
            snapshot = snapshot_request(kind=kind, period=period)
        snapshot.refresh_from_db()
        return snapshot

    return compute


@pytest.fixture
def late_january_answer():
    """Answered on 1 February in UTC, still 31 January in Los Angeles."""
    at = dt.datetime(2025, 2, 1, 5, 0, tzinfo=dt.UTC)
    invitation = InvitationFactory(
        survey=SurveyFactory(kind=SurveyKind.RELATIONSHIP), state=InvitationState.RESPONDED, sent_at=at
    )
    return ResponseFactory(invitation=invitation, score=10, answered_at=at)


def test_an_nps_snapshot_of_another_time_zone_is_stale(late_january_answer, computed):
    snapshot = computed(SnapshotKind.NPS, "2025-02")
    assert snapshot.figures["responses"] == 1

    zone, active = in_zone(LA)
    with zone, active:
        assert nps_report(period=parse_period("2025-02")).counts.responses == 0
        assert snapshot_is_stale(snapshot)


def test_an_nps_snapshot_computed_in_the_current_time_zone_is_fresh(late_january_answer, computed):
    zone, active = in_zone(LA)
    with zone, active:
        snapshot = computed(SnapshotKind.NPS, "2025-01")
        assert snapshot.figures["responses"] == 1
        assert snapshot.fingerprint["time_zone"] == LA
        assert not snapshot_is_stale(snapshot)


def test_an_earned_growth_snapshot_does_not_depend_on_the_time_zone(computed):
    customer = CustomerFactory()
    pay(customer, "2024-12-31", "10.00")
    pay(customer, "2025-01-01", "20.00")
    snapshot = computed(SnapshotKind.EARNED_GROWTH, "2025")

    zone, active = in_zone(LA)
    with zone, active:
        assert not snapshot_is_stale(snapshot)  # ledger dates are calendar days in any zone
