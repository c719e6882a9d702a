"""The acquisition reason through every entry point: the same answer ends in the same state, and
no reason email goes to an address that bounced or complained. Regressions found by an audit."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounting.imports import import_records
from accounting.models import Customer, ImportStatus, ReasonRequest
from accounting.services import customer_map_other_reason, customer_set_reason
from accounting.tasks import send_reason_requests_to_new_customers
from surveys.models import SuppressedAddress
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db


def stored(customer):
    return Customer.objects.select_related("reason", "reason_mapped_to").get(pk=customer.pk)


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


# --- PATCH /api/customers/{id}/ vs the import: the same (partial) answer, two stored states ------


def test_patch_same_reason_without_text_keeps_the_answer_as_the_import_does(api):
    a = CustomerFactory(external_id="A")
    b = CustomerFactory(external_id="B")
    for c in (a, b):
        customer_set_reason(customer=c, reason=reason("recommendation"), text="my friend Bob", source="email")
    before = stored(a)

    # The import: reason cell repeated, text cell empty -> keeps everything (README "Imports").
    batch = import_records(kind="customers", records=[{"external_id": "B", "reason": "recommendation"}])
    assert batch.status == ImportStatus.SUCCEEDED
    b = stored(b)
    assert (b.reason_text, b.reason_source) == ("my friend Bob", "email")

    # The API's PATCH, the same partial answer (an API client echoing the reason it read).
    response = api.patch(reverse("api-customer-detail", args=[a.pk]), {"reason": "recommendation"}, format="json")
    assert response.status_code == 200, response.content
    a = stored(a)
    assert (a.reason_text, a.reason_source, a.reason_answered_at) == (
        "my friend Bob", "email", before.reason_answered_at,
    )


def test_patch_same_other_reason_without_text_keeps_the_mapping(api):
    customer = CustomerFactory(external_id="M")
    customer_set_reason(customer=customer, reason=reason("other"), text="my cousin told me", source="email")
    customer_map_other_reason(customer=customer, category=reason("recommendation"))

    response = api.patch(reverse("api-customer-detail", args=[customer.pk]), {"reason": "other"}, format="json")

    # README: "The answer a customer already has, sent again ... changes nothing, the mapping included";
    # the import keeps the stored text for `other` with an empty text cell.
    assert response.status_code == 200, response.content
    customer = stored(customer)
    assert customer.reason_text == "my cousin told me"
    assert customer.reason_mapped_to == reason("recommendation")
    assert response.json()["reason_class"] == "earned"


# --- send_reason_requests and the suppressed list -------------------------------------------------


def test_send_reason_requests_skips_an_address_that_bounced_or_complained(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    customer = CustomerFactory(
        external_id="NEW1", email="gone@customer.example.com", acquired_on=today - dt.timedelta(days=3)
    )
    SuppressedAddress.objects.create(email="gone@customer.example.com", kind="bounced", detail="hard bounce")

    with django_capture_on_commit_callbacks(execute=True):
        send_reason_requests_to_new_customers(days=30)

    # SuppressedAddress: "An address that bounced hard or complained: never emailed again".
    assert [m.to for m in mail.outbox] == []
    assert not ReasonRequest.objects.filter(customer=customer, sent_at__isnull=False).exists()


# --- The staff form and a customer's own, since retired category ----------------------------------


def test_staff_form_accepts_a_new_text_for_the_retired_reason_the_customer_has(client_as):
    customer = CustomerFactory(external_id="R1")
    customer_set_reason(customer=customer, reason=reason("advertising"), text="a poster", source="import")
    retired = reason("advertising")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    assert not retired.is_active
    # The API and the import accept the customer's own retired category back (with a new text).
    record = {"external_id": "R1", "reason": "advertising", "reason_text": "a radio ad"}
    batch = import_records(kind="customers", records=[record])
    assert batch.status == ImportStatus.SUCCEEDED

    response = client_as("analyst").post(
        reverse("accounting:customer-reason", args=[customer.pk]),
        {"reason": str(retired.pk), "reason_text": "a TV ad"},
    )
    assert response.status_code == 302, response.status_code
    assert stored(customer).reason_text == "a TV ad"
