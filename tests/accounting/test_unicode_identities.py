"""Text identities (external ids, segments, touchpoints) on every door: one Unicode form (NFC) and,
for the names chosen back from a dropdown, one line. Found by an audit (names)."""

import datetime as dt
import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command

from accounting.admin import CustomerAdminForm
from accounting.imports import import_file
from accounting.imports.columns import CUSTOMER_COLUMNS, RESPONSE_COLUMNS
from accounting.models import Customer, RevenueEntry
from accounting.selectors import customer_segments
from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, Response, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory
from tests.form_data import admin_change_data

pytestmark = pytest.mark.django_db

accounting_migration = importlib.import_module("accounting.migrations.0016_customer_segment_nfc_one_line")
surveys_migration = importlib.import_module("surveys.migrations.0022_touchpoint_segment_nfc_one_line")

HEADER = ",".join(CUSTOMER_COLUMNS) + "\n"
NFC = "Caf\u00e9"  # é as one code point (what most keyboards type)
NFD = "Cafe\u0301"  # e + combining acute (what macOS and some exports write); looks identical
Q2 = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)


def _import(rows: str, kind: str = "customers", header: str = HEADER):
    return import_file(kind=kind, file=io.BytesIO((header + rows).encode()), filename="c.csv", source="command")


def _errors(batch) -> list[tuple[str, str]]:
    return [(e.column, e.message) for e in batch.errors.all()]


def test_a_segment_typed_in_nfc_and_imported_in_nfd_is_one_segment(api_client_as):
    """Otherwise every dropdown lists "Café" twice and a launch to one misses the other."""
    assert _import(f"c1,Ann,ann@example.com,,,,,,{NFD},,\n").status == "succeeded"
    created = api_client_as("admin").post(
        "/api/customers/", {"external_id": "c2", "name": "Bob", "email": "bob@example.com", "segment": NFD},
        format="json",
    )
    assert created.status_code == 201, created.content

    assert customer_segments() == [NFC]
    assert survey_launch(survey=SurveyFactory(), segment=NFC).audience_size == 2


def test_a_customers_file_with_an_nfd_external_id_updates_the_customer(api_client_as):
    """A re-import "creates no duplicate" (README, Imports), whichever form the file writes."""
    created = api_client_as("admin").post(
        "/api/customers/", {"external_id": f"{NFD}-42", "name": "Ann", "email": "ann@example.com"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert _import(f"{NFD}-42,Ann,ann.new@example.com,,,,,,,,\n").status == "succeeded"

    assert list(Customer.objects.values_list("external_id", "email")) == [(f"{NFC}-42", "ann.new@example.com")]
    api = api_client_as("admin")
    again = api.post("/api/customers/", {"external_id": f"{NFD}-42", "name": "Twin"}, format="json")
    assert again.status_code in (400, 409), again.content
    child = api.post("/api/customers/", {"external_id": "kid", "parent": f"{NFD}-42"}, format="json")
    assert child.status_code == 201, child.content
    assert api.get("/api/customers/", {"external_id": f"{NFD}-42"}).json()["count"] == 1


def test_lookups_match_a_name_sent_in_nfd(api_client_as, client_as):
    """The filters compare with what is stored, in NFC."""
    customer = CustomerFactory(external_id="cafe1", segment=NFC)
    ResponseFactory(
        invitation=InvitationFactory(customer=customer, state=InvitationState.RESPONDED, sent_at=Q2, touchpoint=NFC),
        score=10, answered_at=Q2, touchpoint=NFC,
    )
    CustomerFactory(external_id="emea1", segment="EMEA")
    api = api_client_as("admin")
    assert api.get("/api/customers/", {"segment": NFD}).json()["count"] == 1
    assert api.get("/api/responses/", {"segment": NFD}).json()["count"] == 1
    assert api.get("/api/responses/", {"touchpoint": NFD}).json()["count"] == 1
    assert api.get("/api/invitations/", {"touchpoint": NFD}).json()["count"] == 1

    client = client_as("viewer")
    page = client.get("/reports/nps/", {"period": "2025-Q2", "segment": NFD, "touchpoint": NFD})
    assert page.status_code == 200
    assert '<p class="nps-big">100</p>' in page.content.decode()
    listed = client_as("analyst").get("/customers/", {"segment": NFD}).content.decode()
    assert "cafe1" in listed and "emea1" not in listed
    call_command("nps", "2025-Q2", "--segment", NFD, "--touchpoint", NFD, stdout=io.StringIO())  # known
    report = api.get("/api/reports/nps/", {"period": "2025-Q2", "segment": NFD, "touchpoint": NFD})
    assert (report.status_code, report.json()["responses"], report.json()["segment"]) == (200, 1, NFC)
    growth = api.get("/api/reports/earned-growth/", {"period": "2025", "segment": NFD})
    assert growth.status_code == 200 and growth.json()["segment"] == NFC

    survey = api.post("/api/surveys/", {"name": "Cafe", "audience": "segment", "audience_segment": NFD}, format="json")
    assert survey.status_code == 201, survey.content
    assert survey.json()["audience_segment"] == NFC
    launched = api.post(f"/api/surveys/{survey.json()['id']}/launch/", {"segment": NFD}, format="json")
    assert launched.status_code == 201, launched.content
    assert launched.json()["audience_segment"] == NFC


def test_a_segment_or_touchpoint_with_a_line_break_is_refused_naming_it(api_client_as):
    """A browser submits a dropdown's line break as CRLF: a segment holding one could never be chosen."""
    batch = _import('na1,North One,n1@example.com,,,,,,"North\nAmerica",,\n')
    assert batch.status == "rejected"
    assert _errors(batch) == [("segment", "a segment is one line of text: remove the line break")]

    api = api_client_as("admin")
    for value in ("North\nAmerica", "North\r\nAmerica", "North\u2028America", "North\x85America"):
        posted = api.post("/api/customers/", {"external_id": "na1", "segment": value}, format="json")
        assert posted.status_code == 400 and "segment" in posted.json(), (value, posted.content)
    bulk = api.post("/api/customers/bulk/", [{"external_id": "na1", "segment": "North\nAmerica"}], format="json")
    assert bulk.status_code == 400 and "segment" in bulk.content.decode()

    form = CustomerAdminForm(data={"external_id": "na1", "language": "en", "segment": "North\nAmerica"})
    assert not form.is_valid() and "segment" in form.errors

    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    trigger = {"survey": survey.pk, "customer": CustomerFactory().external_id, "touchpoint": "check\nout"}
    refused = api.post("/api/invitations/", trigger, format="json")
    assert refused.status_code == 400 and "touchpoint" in refused.json()
    assert not Customer.objects.filter(external_id="na1").exists() and not Invitation.objects.exists()

    answers = _import('c1,Old,9,2025-06-10,,"check\nout"\n', kind="responses", header=",".join(RESPONSE_COLUMNS) + "\n")
    assert answers.status == "rejected"
    assert _errors(answers) == [("touchpoint", "a touchpoint is one line of text: remove the line break")]


def test_the_migration_puts_a_legacy_segment_on_one_line_the_dropdowns_filter_by(client_as):
    """Stored before the rule, "North\\nAmerica" could not be filtered on (customers list, NPS: 400)."""
    customer = CustomerFactory(external_id="na1")
    response = ResponseFactory(
        invitation=InvitationFactory(customer=customer, state=InvitationState.RESPONDED, sent_at=Q2),
        score=10, answered_at=Q2,
    )
    CustomerFactory(external_id="em1", segment="EMEA")
    Customer.objects.filter(pk=customer.pk).update(segment="North\r\nAmerica")
    Invitation.objects.filter(pk=response.invitation_id).update(segment="North\nAmerica", touchpoint="a\n\nb")
    Response.objects.filter(pk=response.pk).update(segment=f"North\n{NFD}", touchpoint="a\u2029b")

    accounting_migration.customer_texts_canonical(apps, None)
    surveys_migration.texts_canonical(apps, None)

    assert Customer.objects.get(pk=customer.pk).segment == "North America"
    assert Invitation.objects.values_list("segment", "touchpoint").get() == ("North America", "a b")
    assert Response.objects.values_list("segment", "touchpoint").get() == (f"North {NFC}", "a b")
    Response.objects.filter(pk=response.pk).update(segment="North America")
    listed = client_as("analyst").get("/customers/", {"segment": "North America"}).content.decode()
    assert "na1" in listed and "em1" not in listed
    page = client_as("viewer").get("/reports/nps/", {"period": "2025-Q2", "segment": "North America"})
    assert page.status_code == 200 and '<p class="nps-big">100</p>' in page.content.decode()


def test_the_migration_puts_external_ids_in_nfc_unless_two_would_collide():
    """Two customers whose ids differ only in form stay as they are (staff merge them); never a failure."""
    alone, twin_nfc, twin_nfd = CustomerFactory(), CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=alone.pk).update(external_id=f"{NFD}-1")
    Customer.objects.filter(pk=twin_nfc.pk).update(external_id=f"{NFC}-2")
    Customer.objects.filter(pk=twin_nfd.pk).update(external_id=f"{NFD}-2")

    accounting_migration.customer_texts_canonical(apps, None)

    assert Customer.objects.get(pk=alone.pk).external_id == f"{NFC}-1"
    assert Customer.objects.get(pk=twin_nfc.pk).external_id == f"{NFC}-2"
    assert Customer.objects.get(pk=twin_nfd.pk).external_id == f"{NFD}-2"


def test_the_survey_admin_takes_a_segment_typed_in_nfd(client_as):
    """The admin checked the segment as typed against the stored (NFC) ones: an unknown segment."""
    CustomerFactory(segment=NFC)
    survey = SurveyFactory()
    data = admin_change_data(client_as("admin"), f"/admin/surveys/survey/{survey.pk}/change/")
    data.update(audience="segment", audience_segment=NFD)
    response = client_as("admin").post(f"/admin/surveys/survey/{survey.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    survey.refresh_from_db()
    assert survey.audience_segment == NFC


def test_a_ledger_reference_is_kept_as_sent():
    """References already in the ledger came byte for byte; spelt anew in NFC one would be a second line."""
    CustomerFactory(external_id="c1")
    header = "customer,date,amount,external_ref,product\n"
    first = _import(f"c1,2025-01-31,10.00,{NFD}-1,Plan\n", kind="revenue", header=header)
    again = _import(f"c1,2025-01-31,10.00,{NFD}-1,Plan\nc1,2025-02-28,10.00,x-2,Plan\n", kind="revenue", header=header)
    assert (first.status, again.status) == ("succeeded", "succeeded")
    assert list(RevenueEntry.objects.order_by("date").values_list("external_ref", flat=True)) == [f"{NFD}-1", "x-2"]
