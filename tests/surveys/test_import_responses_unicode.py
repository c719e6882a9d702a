"""Historical answers against NFC identities: a survey named as stored (decomposed) gets its
answers, and a file imported while a customer id was stored decomposed adds nothing again after
migration accounting 0016 composed it."""

import hashlib
import importlib
import io

import pytest
from django.apps import apps

from accounting.imports import import_file
from accounting.imports.columns import RESPONSE_COLUMNS
from accounting.models import Customer
from surveys.models import InvitationState, Response, Survey
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

accounting_migration = importlib.import_module("accounting.migrations.0016_customer_segment_nfc_one_line")

HEADER = ",".join(RESPONSE_COLUMNS) + "\n"
NFD_NAME = "Cafe\u0301 2025"  # a survey name as a macOS export / API client wrote it
NFC_ID, NFD_ID = "Caf\u00e9-1", "Cafe\u0301-1"


def _import(rows: str):
    return import_file(kind="responses", file=io.BytesIO((HEADER + rows).encode()), filename="r.csv", source="command")


def test_answers_for_a_survey_named_as_stored_go_into_that_survey_not_a_twin():
    """The survey name is not a text identity NFC'd on any other door: the file names it byte for byte."""
    CustomerFactory(external_id="c1")
    survey = SurveyFactory(name=NFD_NAME)
    batch = _import(f"c1,{NFD_NAME},9,2025-03-01,,\n")
    assert batch.status == "succeeded", list(batch.errors.values_list("message", flat=True))
    assert Survey.objects.count() == 1  # no second "Café 2025"
    assert Response.objects.get().survey == survey


def test_reimporting_a_file_imported_before_the_migration_adds_nothing():
    """README (Imports): re-importing adds nothing. A file imported while the customer's id was stored
    NFD keyed its answers on that id; the migration put the id in NFC but left the keys."""
    customer = CustomerFactory(external_id="x")
    Customer.objects.filter(pk=customer.pk).update(external_id=NFD_ID)  # as stored before the commit
    survey = SurveyFactory(name="Q1")
    # What the import stored before the commit for the row "Café-1,Q1,9,2025-03-01,,"
    raw = "\x1f".join([NFD_ID, "Q1", "2025-03-01T00:00:00"])
    key = "import:" + hashlib.sha256(raw.encode()).hexdigest()
    customer.refresh_from_db()
    ResponseFactory(invitation=InvitationFactory(customer=customer, survey=survey, reference=key,
                                                 state=InvitationState.RESPONDED), score=9)
    accounting_migration.customer_texts_canonical(apps, None)
    assert Customer.objects.get().external_id == NFC_ID

    batch = _import(f"{NFD_ID},Q1,9,2025-03-01,,\n")  # the same file again
    assert batch.status == "succeeded", list(batch.errors.values_list("message", flat=True))
    assert Response.objects.count() == 1
