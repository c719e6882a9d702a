"""customer_set_reason: the one rule every way of recording a reason goes through (SPEC §2)."""

import pytest
from django.core.exceptions import ValidationError

from accounting.services import customer_set_reason
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db


def test_it_records_an_active_reason_with_its_source():
    customer = CustomerFactory(reason=None)

    customer_set_reason(customer=customer, reason=reason("recommendation"), source="staff")

    customer.refresh_from_db()
    assert (customer.reason.slug, customer.reason_source) == ("recommendation", "staff")
    assert customer.reason_answered_at is not None


@pytest.mark.parametrize("current", [None, "promotion"])
def test_it_refuses_an_inactive_reason_the_customer_does_not_have(retired, current):
    customer = CustomerFactory(reason=reason(current) if current else None, reason_source="email")

    with pytest.raises(ValidationError) as raised:
        customer_set_reason(customer=customer, reason=retired, source="api")

    assert raised.value.message_dict == {
        "reason": ["'advertising' is an inactive reason category; choose an active one."],
    }
    customer.refresh_from_db()
    assert (customer.reason_id, customer.reason_source) == (
        reason(current).pk if current else None, "email",
    )


def test_it_accepts_the_inactive_reason_the_customer_already_has(retired):
    customer = CustomerFactory(reason=retired, reason_source="import")

    customer_set_reason(customer=customer, reason=retired, text="", source="api")

    customer.refresh_from_db()
    assert (customer.reason, customer.reason_source) == (retired, "import")  # the same answer: no change


def test_the_reason_it_has_sent_without_any_text_keeps_the_stored_answer():
    """An API client echoing what it read sends the reason alone (text None): nothing changes."""
    customer = CustomerFactory(reason=reason("other"), reason_text="a fair", reason_source="email")
    mapped_to = reason("recommendation")
    customer.reason_mapped_to = mapped_to
    customer.save()

    customer_set_reason(customer=customer, reason=reason("other"), text=None, source="api")

    customer.refresh_from_db()
    assert (customer.reason_text, customer.reason_source) == ("a fair", "email")
    assert customer.reason_mapped_to == mapped_to


def test_no_text_for_another_reason_is_a_new_answer_and_other_still_needs_its_text():
    customer = CustomerFactory(reason=reason("promotion"), reason_text="", reason_source="email")

    with pytest.raises(ValidationError) as raised:
        customer_set_reason(customer=customer, reason=reason("other"), text=None, source="api")
    assert raised.value.message_dict == {"reason_text": ["Please say what the other reason is."]}

    customer_set_reason(customer=customer, reason=reason("recommendation"), text=None, source="api")
    customer.refresh_from_db()
    assert (customer.reason.slug, customer.reason_source) == ("recommendation", "api")
