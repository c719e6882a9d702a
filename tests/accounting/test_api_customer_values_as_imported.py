"""POST/PATCH /api/customers/ read a value as the bulk endpoint and the CSV import read its cell:
references trimmed, dates in the form YYYY-MM-DD only. The single POST refused " P1 " (which bulk
found) and took "2025-1-5" (which bulk refused). Found by an audit."""

import datetime as dt

import pytest

from accounting.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_as):
    return api_client_as("admin")


def test_single_customer_api_finds_a_parent_the_bulk_endpoint_finds(api):
    CustomerFactory(external_id="P1")
    bulk = api.post("/api/customers/bulk/", [{"external_id": "B1", "parent": " P1 "}], format="json")
    assert bulk.status_code == 201  # the bulk endpoint (and the CSV) trims the cell

    single = api.post("/api/customers/", {"external_id": "S1", "parent": " P1 "}, format="json")

    assert single.status_code == 201, single.json()
    assert single.json()["parent"] == "P1"


def test_single_customer_api_trims_referred_by_and_reason(api):
    CustomerFactory(external_id="R1")

    response = api.post(
        "/api/customers/", {"external_id": "S1", "referred_by": " R1\t", "reason": " advertising "}, format="json"
    )

    assert response.status_code == 201, response.json()
    customer = Customer.objects.select_related("referred_by", "reason").get(external_id="S1")
    assert (customer.referred_by.external_id, customer.reason.slug) == ("R1", "advertising")


def test_a_blank_parent_is_no_parent_as_in_the_import(api):
    response = api.post("/api/customers/", {"external_id": "S1", "parent": "  "}, format="json")

    assert response.status_code == 201, response.json()
    assert Customer.objects.get(external_id="S1").parent is None


def test_single_customer_api_refuses_a_date_the_bulk_endpoint_refuses(api):
    bulk = api.post("/api/customers/bulk/", [{"external_id": "B1", "acquired_on": "2025-1-5"}], format="json")
    assert bulk.status_code == 400
    bulk_message = bulk.json()["errors"][0]["message"]

    single = api.post("/api/customers/", {"external_id": "S1", "acquired_on": "2025-1-5"}, format="json")

    assert single.status_code == 400
    assert single.json()["acquired_on"] == [bulk_message] == ["'2025-1-5' is not a date in the form YYYY-MM-DD"]
    assert not Customer.objects.filter(external_id="S1").exists()


def test_patch_refuses_a_date_the_bulk_endpoint_refuses(api):
    customer = CustomerFactory(acquired_on=dt.date(2024, 1, 1))

    response = api.patch(f"/api/customers/{customer.pk}/", {"acquired_on": "2025-02-30"}, format="json")

    assert response.status_code == 400
    assert response.json()["acquired_on"] == ["'2025-02-30' is not a valid calendar date"]
    assert Customer.objects.get(pk=customer.pk).acquired_on == dt.date(2024, 1, 1)


@pytest.mark.parametrize("value", ["2025-01-05", " 2025-01-05 "])
def test_an_iso_date_is_taken_trimmed_as_the_import_takes_it(api, value):
    response = api.post("/api/customers/", {"external_id": "S1", "acquired_on": value}, format="json")

    assert response.status_code == 201, response.json()
    assert Customer.objects.get(external_id="S1").acquired_on == dt.date(2025, 1, 5)


def test_a_null_date_is_still_no_date(api):
    response = api.post("/api/customers/", {"external_id": "S1", "acquired_on": None}, format="json")

    assert response.status_code == 201, response.json()
    assert Customer.objects.get(external_id="S1").acquired_on is None
