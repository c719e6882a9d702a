"""The reason text (an "other" answer in the customer's words): one length limit on every door,
REASON_TEXT_MAX_LENGTH (the API took any length, while the reason page and the staff form stopped
at 2000), and shown as text to staff."""

import pytest
from django.urls import reverse

from accounting.admin import CustomerAdminForm
from accounting.forms import CustomerReasonForm
from accounting.models import REASON_TEXT_MAX_LENGTH, Customer
from accounting.services import reason_request_create
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

HUGE = "x" * 200_000
LONGEST = "x" * REASON_TEXT_MAX_LENGTH
TOO_LONG = "x" * (REASON_TEXT_MAX_LENGTH + 1)


def stored_text(customer):
    return Customer.objects.get(pk=customer.pk).reason_text


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


def test_the_limit_is_the_reason_pages():
    assert REASON_TEXT_MAX_LENGTH == 2000


@pytest.mark.parametrize("text", [HUGE, TOO_LONG])
def test_the_reason_endpoint_refuses_a_text_over_the_limit(api, text):
    customer = CustomerFactory()

    answer = {"reason": "other", "reason_text": text}

    response = api.post(f"/api/customers/{customer.pk}/reason/", answer, format="json")

    assert response.status_code == 400, f"{response.status_code}: {len(stored_text(customer))} chars stored"
    assert "reason_text" in response.json()
    assert stored_text(customer) == ""


def test_patch_refuses_a_text_over_the_limit(api):
    customer = CustomerFactory()

    response = api.patch(f"/api/customers/{customer.pk}/", {"reason": "other", "reason_text": HUGE}, format="json")

    assert response.status_code == 400, f"{response.status_code}: {len(stored_text(customer))} chars stored"
    assert "reason_text" in response.json()
    assert stored_text(customer) == ""


def test_a_new_customer_with_a_text_over_the_limit_is_not_created(api):
    response = api.post(
        "/api/customers/", {"external_id": "LONG", "reason": "other", "reason_text": TOO_LONG}, format="json"
    )

    assert response.status_code == 400
    assert not Customer.objects.filter(external_id="LONG").exists()


def test_a_text_of_the_limit_is_stored(api):
    customer = CustomerFactory()

    response = api.post(
        f"/api/customers/{customer.pk}/reason/", {"reason": "other", "reason_text": LONGEST}, format="json"
    )

    assert response.status_code == 200
    assert stored_text(customer) == LONGEST


def test_a_longer_text_stored_before_the_limit_may_be_sent_back_unchanged(api):
    """An API client echoing the customer it read (a CSV import allowed longer texts) is no error."""
    customer = CustomerFactory(reason=reason("other"), reason_text=TOO_LONG, segment="SMB")

    response = api.patch(
        f"/api/customers/{customer.pk}/", {"segment": "ENT", "reason": "other", "reason_text": TOO_LONG}, format="json"
    )

    assert response.status_code == 200, response.content
    assert stored_text(customer) == TOO_LONG


def test_the_staff_form_takes_the_same_limit():
    form = CustomerReasonForm({"reason": reason("other").pk, "reason_text": TOO_LONG})

    assert not form.is_valid()
    assert "reason_text" in form.errors
    assert CustomerReasonForm({"reason": reason("other").pk, "reason_text": LONGEST}).is_valid()


def test_the_staff_page_refuses_a_text_over_the_limit(client_as):
    customer = CustomerFactory()

    response = client_as("analyst").post(
        reverse("accounting:customer-reason", args=[customer.pk]),
        {"reason": reason("other").pk, "reason_text": TOO_LONG},
    )

    assert response.status_code == 400
    assert stored_text(customer) == ""


def test_the_admin_refuses_a_new_text_over_the_limit_and_keeps_an_older_one():
    customer = CustomerFactory(reason=reason("other"), reason_text="Fair")
    data = {"external_id": customer.external_id, "language": "en", "reason": reason("other").pk}

    assert "reason_text" in CustomerAdminForm({**data, "reason_text": TOO_LONG}, instance=customer).errors

    Customer.objects.filter(pk=customer.pk).update(reason_text=TOO_LONG)
    older = Customer.objects.get(pk=customer.pk)
    form = CustomerAdminForm({**data, "reason_text": TOO_LONG, "segment": "ENT"}, instance=older)
    assert "reason_text" not in form.errors


@pytest.mark.usefixtures("fresh_rate_limits")
def test_the_reason_page_refuses_a_text_over_the_limit_with_a_message(client):
    customer = CustomerFactory(language="fr")
    link = reason_request_create(customer=customer)

    response = client.post(f"/why/{link.token}/", {"reason": reason("other").pk, "reason_text": TOO_LONG})

    assert response.status_code in (200, 400)  # the form again (its status is the public page's business)
    assert str(REASON_TEXT_MAX_LENGTH) in response.content.decode()
    customer.refresh_from_db()
    assert customer.reason is None


def test_the_other_text_is_escaped_on_the_staff_customer_page(client_as):
    customer = CustomerFactory(reason=reason("other"), reason_text="<script>alert(1)</script>")

    page = client_as("analyst").get(reverse("accounting:customer-detail", args=[customer.pk]))

    assert page.status_code == 200
    assert b"<script>alert(1)" not in page.content


def test_a_customers_import_takes_the_same_limit():
    # The import allowed 5,000 characters, and the staff form then refused to save such a customer.
    from accounting.imports import import_records
    from accounting.models import ImportStatus

    records = [{"external_id": "L1", "name": "Long", "reason": "other", "reason_text": LONGEST},
               {"external_id": "L2", "name": "Longer", "reason": "other", "reason_text": TOO_LONG}]

    batch = import_records(kind="customers", records=records)

    assert batch.status == ImportStatus.REJECTED
    assert [(e.row, e.column) for e in batch.errors.all()] == [(2, "reason_text")]
    assert not Customer.objects.filter(external_id__in=["L1", "L2"]).exists()
