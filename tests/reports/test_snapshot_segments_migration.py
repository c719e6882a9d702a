"""Report snapshots kept under a decomposed segment are found after the migrations compose it."""

import importlib

import pytest
from django.apps import apps

from accounting.models import Customer
from reports.models import ReportSnapshot, SnapshotKind, SnapshotStatus
from reports.periods import parse_period
from reports.selectors import DashboardParams, dashboard_snapshots
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

accounting_migration = importlib.import_module("accounting.migrations.0016_customer_segment_nfc_one_line")
reports_migration = importlib.import_module("reports.migrations.0011_snapshot_segments_nfc_one_line")
NFC, NFD = "Caf\u00e9", "Cafe\u0301"


def test_a_segments_snapshot_is_still_found_after_its_segment_is_put_in_nfc():
    """Before the commit the customers' segment was stored NFD and the dashboard kept its snapshots
    under it; after the migration the dashboard asks for NFC and must find them (an old period is not
    recomputed on view, and the restatement notice lives on the row)."""
    customer = CustomerFactory(external_id="c1")
    Customer.objects.filter(pk=customer.pk).update(segment=NFD)
    ReportSnapshot.objects.create(
        kind=SnapshotKind.EARNED_GROWTH, period="2019", compare="prior", grain="entity", segment=NFD,
        figures={"earned_growth_rate": "0.1"}, status=SnapshotStatus.DONE,
    )
    accounting_migration.customer_texts_canonical(apps, None)
    reports_migration.snapshot_segments_canonical(apps, None)
    assert Customer.objects.get().segment == NFC

    found = dashboard_snapshots(DashboardParams(period=parse_period("2019"), compare="prior", grain="entity",
                                                segment=NFC))
    assert "2019" in found
