"""Upgrading an installation with data to NFC identities: each segment rewritten once (a million
customers in seconds, not hours), twins left decomposed stay editable (API and admin), and NPS
snapshots of a segment whose answers the migration merged read stale."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

accounting_migration = importlib.import_module("accounting.migrations.0016_customer_segment_nfc_one_line")

NFC = "Caf\u00e9"
NFD = "Cafe\u0301"


def test_the_segment_migration_rewrites_each_segment_once_not_once_per_customer():
    """Customer's Meta.ordering (external_id) joins the SELECT DISTINCT, so the loop gets one row per
    customer and runs one UPDATE per customer of the segment: quadratic (1M customers: hours)."""
    customers = [CustomerFactory(external_id=f"c{i}") for i in range(30)]
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(segment=NFD)

    with CaptureQueriesContext(connection) as queries:
        accounting_migration.customer_texts_canonical(apps, None)

    segment_updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and '"segment"' in q["sql"]]
    assert set(Customer.objects.values_list("segment", flat=True)) == {NFC}
    assert len(segment_updates) == 1, f"{len(segment_updates)} UPDATEs for one segment"


def test_an_nfd_twin_left_by_the_migration_can_still_be_edited_through_the_api(api_client_as):
    """The migration leaves 'Zoë-1' in NFD beside its NFC twin "for staff to merge or rename"; any
    PATCH of it (its name, its email) is a 409 'another request ... at the same time, try again'
    that no retry clears, because Customer.save() rewrites its unchanged id in NFC."""
    twin_nfc, twin_nfd = CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=twin_nfc.pk).update(external_id="Zo\u00eb-1")
    Customer.objects.filter(pk=twin_nfd.pk).update(external_id="Zoe\u0308-1")

    response = api_client_as("admin").patch(
        f"/api/customers/{twin_nfd.pk}/", {"name": "Zoe (from the Mac export)"}, format="json"
    )

    assert response.status_code == 200, response.content
    twin_nfd.refresh_from_db()
    assert twin_nfd.name == "Zoe (from the Mac export)"
    assert twin_nfd.external_id == "Zoe\u0308-1"  # left as it is, as the migration left it


def test_the_admin_saves_an_nfd_twin_whose_id_is_left_as_stored(client_as):
    """README: twins the migration leaves 'stay as stored (editable; rename or merge them in the admin)'.
    Changing only the twin's email in the admin is refused: 'Customer with this External id already
    exists.' (Customer.clean() puts the unchanged id in NFC, the twin's, before the unique check)."""
    from tests.form_data import admin_change_data

    twin_nfc, twin_nfd = CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=twin_nfc.pk).update(external_id="Zo\u00eb-1")
    Customer.objects.filter(pk=twin_nfd.pk).update(external_id="Zoe\u0308-1")
    url = f"/admin/accounting/customer/{twin_nfd.pk}/change/"
    data = admin_change_data(client_as("admin"), url, email="zoe.new@example.com")

    response = client_as("admin").post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    twin_nfd.refresh_from_db()
    assert twin_nfd.email == "zoe.new@example.com" and twin_nfd.external_id == "Zoe\u0308-1"


def test_a_segments_nps_snapshot_is_stale_once_the_migration_merges_its_answers(django_capture_on_commit_callbacks):
    """Answers given while the customer's segment was stored in NFD join the NFC segment's NPS after
    surveys 0022 (it keeps responses' updated_at), but the NFC segment's snapshot keeps its old
    figures and reads as current: its fingerprint sees no change (same responses count and last
    edit, same customers in the segment)."""
    import datetime as dt

    from reports.models import SnapshotKind
    from reports.nps import nps_report
    from reports.periods import parse_period
    from reports.snapshots import snapshot_is_stale, snapshot_request
    from surveys.models import InvitationState, Response
    from tests.factories import InvitationFactory, ResponseFactory

    surveys_migration = importlib.import_module("surveys.migrations.0022_touchpoint_segment_nfc_one_line")
    when = dt.datetime(2025, 5, 20, 12, tzinfo=dt.UTC)
    mover, stayer = CustomerFactory(segment=NFC), CustomerFactory(segment=NFC)
    for customer, score in ((mover, 0), (stayer, 10)):
        ResponseFactory(
            invitation=InvitationFactory(customer=customer, state=InvitationState.RESPONDED, sent_at=when),
            score=score, answered_at=when,
        )
    # The mover answered while its segment was stored decomposed (an old macOS import), then was re-filed.
    Response.objects.filter(customer=mover).update(segment=NFD)
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = snapshot_request(kind=SnapshotKind.NPS, period="2025", segment=NFC)
    snapshot.refresh_from_db()
    assert snapshot.figures["responses"] == 1

    surveys_migration.texts_canonical(apps, None)

    assert nps_report(period=parse_period("2025"), segment=NFC).as_json()["responses"] == 2  # the live figure moved
    snapshot.refresh_from_db()
    assert snapshot_is_stale(snapshot), "the snapshot's 1 answer (NPS 100) still reads as current"
