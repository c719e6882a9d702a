"""Only identities (ids, segments, touchpoints) are put in NFC by the import: a reason text, a
name or an email is kept as sent, as the other doors keep it, so the same values re-sent are
no change and an admin's mapping of a re-sent 'other' answer is kept."""

import io

import pytest

from accounting.imports import import_file
from accounting.imports.columns import CUSTOMER_COLUMNS
from accounting.models import Customer
from accounting.services import customer_set_reason
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

HEADER = ",".join(CUSTOMER_COLUMNS) + "\n"
NFD_TEXT = "Le cafe\u0301 d'a\u0300 co\u0302te\u0301"  # as a macOS browser or export sends it


def _import(rows: str):
    return import_file(kind="customers", file=io.BytesIO((HEADER + rows).encode()), filename="c.csv", source="command")


def _answered_and_mapped():
    customer = CustomerFactory(external_id="c1", name="Ann", email="ann@example.com")
    customer_set_reason(customer=customer, reason=reason("other"), text=NFD_TEXT, source="web")  # the /why/ page
    Customer.objects.filter(pk=customer.pk).update(reason_mapped_to=reason("advertising"))
    customer.refresh_from_db()
    assert customer.reason_text == NFD_TEXT  # stored as sent
    return customer


def test_csv_resending_the_same_other_text_keeps_the_admins_mapping():
    """README: the same text sent back keeps the admin's mapping; the file holds the text as stored."""
    customer = _answered_and_mapped()
    answered_at = customer.reason_answered_at
    batch = _import(f'c1,Ann,ann@example.com,,other,"{NFD_TEXT}",,,,,\n')
    assert batch.status == "succeeded"
    customer.refresh_from_db()
    assert customer.reason_mapped_to == reason("advertising")
    assert customer.reason_answered_at == answered_at
    assert batch.rows_updated == 0


def test_bulk_api_resending_the_same_other_text_keeps_the_admins_mapping(api_client_as):
    customer = _answered_and_mapped()
    sent = api_client_as("admin").post(
        "/api/customers/bulk/",
        [{"external_id": "c1", "name": "Ann", "email": "ann@example.com", "reason": "other", "reason_text": NFD_TEXT}],
        format="json",
    )
    assert sent.status_code in (200, 201), sent.content
    customer.refresh_from_db()
    assert customer.reason_mapped_to == reason("advertising")


NFD_NAME = "Rene\u0301e Bjo\u0308rk"


def test_a_reimport_of_the_values_the_api_stored_is_unchanged(api_client_as):
    """README: text is stored in NFC on every door — yet the API stores a name as sent, the file's
    is NFC'd, so the same values through both doors count as a change (updated_at bumped) each time."""
    api = api_client_as("admin")
    created = api.post("/api/customers/", {"external_id": "c9", "name": NFD_NAME, "email": "r@example.com"},
                       format="json")
    assert created.status_code == 201, created.content
    batch = _import(f"c9,{NFD_NAME},r@example.com,,,,,,,,\n")
    assert batch.status == "succeeded"
    assert (batch.rows_updated, batch.rows_skipped) == (0, 1)
