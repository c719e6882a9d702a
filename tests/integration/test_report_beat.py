"""The nightly snapshot task end to end: Redis, a real Celery worker, PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from reports.models import ReportSnapshot, SnapshotStatus
from reports.periods import last_periods
from reports.tasks import compute_periodic_snapshots
from tests.factories import CustomerFactory, RevenueEntryFactory, reason
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

PERIOD_KINDS = ("year", "quarter", "month")


def test_beat_s_task_computes_the_current_and_last_periods_on_a_worker(celery_worker_process):
    today = timezone.localdate()
    earlier = today - dt.timedelta(days=400)  # before every "last" period: a returning customer
    loyal = CustomerFactory(reason=reason("recommendation"))
    for day in (earlier, today):
        RevenueEntryFactory(customer=loyal, date=day, amount=Decimal("100.00"))
    RevenueEntryFactory(customer=CustomerFactory(reason=reason("advertising")), date=today, amount=Decimal("40.00"))
    expected = {str(p) for kind in PERIOD_KINDS for p in last_periods(kind, 2, today)}

    compute_periodic_snapshots.delay()  # what beat sends at 02:30

    def all_done():
        done = ReportSnapshot.objects.filter(status=SnapshotStatus.DONE)
        return done.count() == 12 and set(done.values_list("period", flat=True)) == expected

    assert wait_for(all_done, timeout=60), list(ReportSnapshot.objects.values("period", "status", "error"))
    assert set(ReportSnapshot.objects.values_list("kind", flat=True)) == {"earned_growth", "nps"}
    assert ReportSnapshot.objects.count() == 12  # 6 periods x 2 report kinds
    current_year = ReportSnapshot.objects.get(kind="earned_growth", period=str(today.year))
    assert current_year.figures["revenue"] == "140.00" and current_year.figures["grain"] == "entity"
    assert current_year.fingerprint["ledger_rows"] == 3 and current_year.fingerprint["ledger_sum"] == "240.00"
    assert current_year.requested_by is None and current_year.computed_at is not None
