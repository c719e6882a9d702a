"""The admin keeps the rules the API and the import keep: no self-referral, no negative acquisition
cost, and no delete that silently rewrites other customers' referrers."""

import pytest
from django.urls import reverse

from accounting.imports import import_records
from accounting.models import Customer, ImportStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def url(view, *args):
    return reverse(f"admin:accounting_customer_{view}", args=args)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def change_form(customer, **changes):
    return {"external_id": customer.external_id, "name": customer.name, "language": "en", **changes}


def test_it_refuses_a_customer_referring_itself(admin_client, api_client_as):
    customer = CustomerFactory()
    api = api_client_as("analyst").patch(
        reverse("api-customer-detail", args=[customer.pk]), {"referred_by": customer.external_id}, format="json"
    )

    response = admin_client.post(url("change", customer.pk), change_form(customer, referred_by=customer.pk))

    assert api.status_code == 400  # the rule the admin now keeps too
    assert response.status_code == 200
    assert "cannot refer itself" in str(response.context["adminform"].form.errors)
    customer.refresh_from_db()
    assert customer.referred_by_id is None


def test_it_still_saves_a_referral_by_another_customer(admin_client):
    referrer, customer = CustomerFactory(), CustomerFactory()

    response = admin_client.post(url("change", customer.pk), change_form(customer, referred_by=referrer.pk))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.referred_by == referrer


def test_it_refuses_a_negative_acquisition_cost_as_the_api_and_the_import_do(admin_client, api_client_as):
    customer = CustomerFactory()
    api = api_client_as("analyst").patch(
        reverse("api-customer-detail", args=[customer.pk]), {"acquisition_cost": "-50.00"}, format="json"
    )
    row = {"external_id": customer.external_id, "acquisition_cost": "-50"}
    imported = import_records(kind="customers", records=[row])

    response = admin_client.post(url("change", customer.pk), change_form(customer, acquisition_cost="-50.00"))

    assert api.status_code == 400
    assert imported.status == ImportStatus.REJECTED
    assert response.status_code == 200
    assert "acquisition_cost" in response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.acquisition_cost is None


def test_a_zero_acquisition_cost_is_accepted(admin_client):
    customer = CustomerFactory()

    response = admin_client.post(url("change", customer.pk), change_form(customer, acquisition_cost="0"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.acquisition_cost == 0


def test_it_refuses_to_delete_a_referrer_and_names_the_customers_it_brought(admin_client):
    """Deleting a referrer used to null `referred_by` on every customer it brought, in one UPDATE
    with no audit entry, and the referrals report changed with nobody told."""
    referrer = CustomerFactory()
    referred = CustomerFactory(referred_by=referrer, name="Brought by a friend")

    page = admin_client.get(url("delete", referrer.pk))
    response = admin_client.post(url("delete", referrer.pk), {"post": "yes"})

    assert page.status_code == 200
    assert "Brought by a friend" in str(page.context["protected"])
    assert response.status_code == 200  # the refusal page, not a redirect after a delete
    assert Customer.objects.filter(pk=referrer.pk).exists()
    referred.refresh_from_db()
    assert referred.referred_by_id == referrer.pk


def test_the_bulk_delete_action_refuses_a_referrer_too(admin_client):
    referrer = CustomerFactory()
    CustomerFactory(referred_by=referrer)

    response = admin_client.post(
        url("changelist"), {"action": "delete_selected", "_selected_action": [referrer.pk], "post": "yes"}
    )

    assert response.status_code == 200
    assert Customer.objects.filter(pk=referrer.pk).exists()


def test_a_customer_who_refers_nobody_is_deleted(admin_client):
    customer = CustomerFactory(referred_by=CustomerFactory())

    response = admin_client.post(url("delete", customer.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()
