"""A customers import records reasons by the service's rules: a new answer drops the mapping of
the old one, "other" needs its text, a text needs a reason (empty cells keep what is stored)."""

import io

import pytest

from accounting.imports import import_file, import_records
from accounting.models import Customer, ImportStatus
from accounting.services import customer_map_other_reason, customer_set_reason
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,acquisition_cost,language"


def import_rows(*rows: dict):
    return import_records(kind="customers", records=list(rows))


def import_csv(*lines: str):
    data = io.BytesIO(("\n".join([HEADER, *lines]) + "\n").encode())
    return import_file(kind="customers", file=data, source="command")


def errors(batch) -> list[tuple[int | None, str]]:
    return [(e.row, e.column) for e in batch.errors.all()]


@pytest.fixture
def mapped():
    """M1 answered "other" with a text an admin mapped onto "recommendation"."""
    customer = CustomerFactory(external_id="M1")
    customer_set_reason(customer=customer, reason=reason("other"), text="my cousin told me", source="staff")
    customer_map_other_reason(customer=customer, category=reason("recommendation"))
    return customer


def stored(customer) -> Customer:
    return Customer.objects.select_related("reason", "reason_mapped_to").get(pk=customer.pk)


class TestTheMappingOfAnOtherText:
    def test_a_new_other_text_drops_the_mapping_of_the_old_one(self, mapped):
        batch = import_rows({"external_id": "M1", "reason": "other", "reason_text": "saw a billboard"})

        assert batch.status == ImportStatus.SUCCEEDED
        customer = stored(mapped)
        assert (customer.reason.slug, customer.reason_text) == ("other", "saw a billboard")
        assert customer.reason_mapped_to is None
        assert customer.reason_source == "import"
        assert customer.reason_answered_at > mapped.reason_answered_at

    def test_a_new_text_alone_drops_the_mapping_too(self, mapped):
        batch = import_csv("M1,,,,,saw a billboard,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED
        customer = stored(mapped)
        assert (customer.reason.slug, customer.reason_text) == ("other", "saw a billboard")
        assert customer.reason_mapped_to is None

    def test_the_same_answer_again_keeps_the_mapping(self, mapped):
        batch = import_rows({"external_id": "M1", "reason": "other", "reason_text": "my cousin told me"})

        assert (batch.status, batch.rows_skipped) == (ImportStatus.SUCCEEDED, 1)
        customer = stored(mapped)
        assert customer.reason_mapped_to.slug == "recommendation"
        assert customer.reason_source == "staff"

    def test_other_with_an_empty_text_cell_keeps_the_stored_text_and_the_mapping(self, mapped):
        batch = import_csv("M1,,,,other,,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED
        customer = stored(mapped)
        assert customer.reason_text == "my cousin told me"
        assert customer.reason_mapped_to.slug == "recommendation"

    def test_another_name_alone_keeps_the_answer_and_its_mapping(self, mapped):
        import_csv("M1,New Name,,,,,,,,,")

        customer = stored(mapped)
        assert customer.name == "New Name"
        assert customer.reason_mapped_to.slug == "recommendation"

    def test_a_new_reason_replaces_the_old_other_text(self, mapped):
        batch = import_csv("M1,,,,advertising,,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED
        customer = stored(mapped)
        assert (customer.reason.slug, customer.reason_text, customer.reason_mapped_to) == ("advertising", "", None)


class TestOtherNeedsItsText:
    def test_other_without_text_is_refused_for_a_new_customer(self):
        batch = import_rows({"external_id": "N1", "reason": "other"})

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [(1, "reason_text")]
        assert not Customer.objects.filter(external_id="N1").exists()

    def test_other_without_text_is_refused_in_a_csv_file(self):
        batch = import_csv("N1,Ann,,,other,,,,,,", "N2,Bob,,,other,because,,,,,")

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [(2, "reason_text")]
        assert not Customer.objects.exists()

    def test_other_without_text_is_refused_for_a_customer_whose_reason_was_another(self):
        customer = CustomerFactory(external_id="A1", reason=reason("advertising"), reason_text="saw it on TV")

        batch = import_csv("A1,,,,other,,,,,,")

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [(2, "reason_text")]
        assert stored(customer).reason.slug == "advertising"

    def test_a_blank_text_counts_as_none(self):
        batch = import_rows({"external_id": "N1", "reason": "other", "reason_text": "   "})

        assert errors(batch) == [(1, "reason_text")]


class TestATextNeedsAReason:
    def test_a_text_without_reason_is_refused_for_a_new_customer(self):
        batch = import_rows({"external_id": "N1", "reason_text": "a friend"})

        assert batch.status == ImportStatus.REJECTED
        assert errors(batch) == [(1, "reason_text")]
        assert not Customer.objects.exists()

    def test_a_text_without_reason_is_refused_for_a_customer_without_one(self):
        customer = CustomerFactory(external_id="A1")

        batch = import_csv("A1,,,,,a friend,,,,,")

        assert errors(batch) == [(2, "reason_text")]
        assert stored(customer).reason_text == ""

    def test_a_text_for_the_stored_reason_is_a_new_answer_to_it(self):
        customer = CustomerFactory(external_id="A1", reason=reason("advertising"))

        batch = import_csv("A1,,,,,the radio spot,,,,,")

        assert batch.status == ImportStatus.SUCCEEDED
        customer = stored(customer)
        assert (customer.reason.slug, customer.reason_text, customer.reason_source) == (
            "advertising", "the radio spot", "import",
        )

    def test_an_unknown_reason_is_reported_once_not_again_as_a_missing_one(self):
        batch = import_rows({"external_id": "N1", "reason": "nope", "reason_text": "x"})

        assert errors(batch) == [(1, "reason")]


def test_any_other_reason_may_come_with_or_without_a_text():
    batch = import_rows(
        {"external_id": "N1", "reason": "advertising"},
        {"external_id": "N2", "reason": "recommendation", "reason_text": "my sister"},
    )

    assert batch.status == ImportStatus.SUCCEEDED
    assert sorted(Customer.objects.values_list("external_id", "reason__slug", "reason_text")) == [
        ("N1", "advertising", ""), ("N2", "recommendation", "my sister"),
    ]
