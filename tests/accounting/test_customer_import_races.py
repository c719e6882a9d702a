"""Customer imports at the same moment as another write to the same customers (PostgreSQL).

Customer imports take turns: the second reads the customers as the first committed them, so an
empty cell keeps what the first wrote and a customer the first created counts as already there.
A customer created another way meanwhile is never overwritten with the import's empty cells."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from accounting.imports import import_records
from accounting.models import Customer, ImportBatch, ImportStatus, ReasonCategory
from tests.concurrency import token_api_clients, while_first_is_held

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections"),
]

CRM_ROW = {
    "external_id": "C1", "name": "Alice", "email": "alice@example.com", "acquired_on": "2025-01-01",
    "reason": "recommendation", "language": "fr", "segment": "SMB",
}
ALICE = {
    "name": "Alice", "email": "alice@example.com", "acquired_on": dt.date(2025, 1, 1),
    "reason__slug": "recommendation", "language": "fr",
}


@pytest.fixture(autouse=True)
def categories():
    # A transactional test may start after another one flushed the seeded categories.
    for slug, kind in (("other", "unknown"), ("recommendation", "earned")):
        ReasonCategory.objects.get_or_create(slug=slug, defaults={"label": slug, "kind": kind})


@pytest.fixture
def api():
    return token_api_clients("admin")


def stored_c1() -> dict:
    return Customer.objects.values(*ALICE, "segment").get(external_id="C1")


def test_an_import_beside_one_creating_the_customer_keeps_what_that_one_wrote():
    """A CRM upload creates C1 while a second import lists C1 with only its segment: the second
    must not write its empty cells (defaults) over the first's name, email, date, reason, language."""
    outcome = while_first_is_held(
        lambda: import_records(kind="customers", records=[CRM_ROW]),
        lambda: import_records(kind="customers", records=[{"external_id": "C1", "segment": "VIP"}]),
    )

    assert outcome.waited  # for the first import to commit
    assert outcome.error is None and outcome.result.status == ImportStatus.SUCCEEDED, outcome.result.message
    assert stored_c1() == {**ALICE, "segment": "VIP"}
    assert (outcome.result.rows_created, outcome.result.rows_updated) == (0, 1)


def test_a_file_submitted_twice_at_once_is_counted_as_added_once():
    """The second of two identical imports says "already there", as a later run would, and leaves
    the answer recorded by the first (its time and source) as it is."""
    answered = []

    def first():
        import_records(kind="customers", records=[CRM_ROW])
        answered.append(Customer.objects.values_list("reason_answered_at", "reason_source").get())

    outcome = while_first_is_held(first, lambda: import_records(kind="customers", records=[CRM_ROW]))

    assert Customer.objects.count() == 1
    second = outcome.result
    assert second.status == ImportStatus.SUCCEEDED, second.message
    assert (second.rows_created, second.rows_updated, second.rows_skipped) == (0, 0, 1), second.message
    assert [Customer.objects.values_list("reason_answered_at", "reason_source").get()] == answered


def test_the_api_bulk_endpoint_takes_turns_with_an_upload_too(api):
    """An integration's push through `POST /api/customers/bulk/` runs the same import."""
    api().get(reverse("api-customer-list"))  # warm: the push must look C1 up while the upload holds it
    outcome = while_first_is_held(
        lambda: import_records(kind="customers", records=[CRM_ROW], source="ui"),
        lambda: api().post(reverse("api-customer-bulk"), [{"external_id": "C1", "segment": "VIP"}], format="json"),
    )

    assert outcome.waited
    assert outcome.result.status_code == 201, outcome.result.content
    assert outcome.result.json()["rows_updated"] == 1
    assert stored_c1() == {**ALICE, "segment": "VIP"}


def test_a_customer_created_through_the_api_meanwhile_is_not_overwritten_by_an_import(api):
    """Only imports take turns: a customer the API creates after the import looked it up is found
    at the insert, and the import fails whole (to be run again) rather than blank its values."""
    api().get(reverse("api-customer-list"))  # warm: the create must be held before the import starts
    outcome = while_first_is_held(
        lambda: api().post(reverse("api-customer-list"), {**CRM_ROW, "reason": "recommendation"}, format="json"),
        lambda: import_records(kind="customers", records=[{"external_id": "C1", "segment": "VIP"}]),
    )

    assert outcome.waited
    assert outcome.result.status == ImportStatus.FAILED
    assert "already exists" in outcome.result.message
    assert stored_c1() == {**ALICE, "segment": "SMB"}
    assert ImportBatch.objects.get().rows_created == 0
