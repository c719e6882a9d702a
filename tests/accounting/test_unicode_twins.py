"""A customer the migration left decomposed (its composed twin exists) can still be edited."""

import pytest

from accounting.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NFC_ID, NFD_ID = "Caf\u00e9-1", "Cafe\u0301-1"


def test_patching_the_name_of_a_twin_left_in_nfd_changes_its_name(api_client_as):
    CustomerFactory(external_id=NFC_ID)
    twin = CustomerFactory(external_id="tmp")
    Customer.objects.filter(pk=twin.pk).update(external_id=NFD_ID)  # left as it was by migration 0016
    api = api_client_as("admin")
    patched = api.patch(f"/api/customers/{twin.pk}/", {"name": "Renamed"}, format="json")

    assert patched.status_code == 200, patched.content

def test_the_twin_keeps_the_id_it_is_stored_under_after_an_update_fields_save():
    """A partial save leaves the row's id as stored; the instance must not claim another id."""
    CustomerFactory(external_id=NFC_ID)
    twin = CustomerFactory(external_id="tmp")
    Customer.objects.filter(pk=twin.pk).update(external_id=NFD_ID)
    twin.refresh_from_db()
    twin.name = "Renamed"
    twin.save(update_fields=["name"])
    assert twin.external_id == Customer.objects.get(pk=twin.pk).external_id
