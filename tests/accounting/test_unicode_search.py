"""The staff customer search and the admin's find an id pasted decomposed (NFD)."""

import pytest

from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NFC_ID, NFD_ID = "Caf\u00e9-42", "Cafe\u0301-42"


def test_the_customer_list_search_finds_an_id_pasted_in_nfd(client_as):
    CustomerFactory(external_id=NFC_ID, name="Ann")
    page = client_as("analyst").get("/customers/", {"q": NFD_ID})
    assert page.status_code == 200
    assert "Ann" in page.content.decode()


def test_the_admin_customer_search_finds_an_id_pasted_in_nfd(client_as):
    customer = CustomerFactory(external_id=NFC_ID, name="Ann")
    page = client_as("admin").get("/admin/accounting/customer/", {"q": NFD_ID})
    assert page.status_code == 200
    assert f"/admin/accounting/customer/{customer.pk}/change/" in page.content.decode()
