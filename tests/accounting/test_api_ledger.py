"""Revenue and cost endpoints: bulk lines in through the import engine, an immutable ledger out."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting.models import CostEntry, ImportBatch, ImportStatus, RevenueEntry
from tests.factories import CostEntryFactory, CustomerFactory, RevenueEntryFactory

pytestmark = pytest.mark.django_db

REVENUE_URL = reverse("api-revenue-list")
COSTS_URL = reverse("api-cost-list")


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


@pytest.fixture
def customers():
    return CustomerFactory(external_id="C1"), CustomerFactory(external_id="C2")


def line(ref, customer="C1", amount="100.00", date="2025-03-01", product="Plan"):
    return {
        "customer": customer, "date": date, "amount": amount, "external_ref": ref,
        "product": product,
    }


# --- Bulk revenue ---------------------------------------------------------------------------------


def test_bulk_revenue_adds_every_line_and_returns_the_import_summary(api, customers):
    lines = [line("R1"), line("R2", customer="C2", amount="-12.50", product="")]

    response = api.post(REVENUE_URL, lines, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert (body["kind"], body["source"]) == ("revenue", "api")
    assert (body["rows_total"], body["rows_created"], body["rows_skipped"]) == (2, 2, 0)
    assert body["error_count"] == 0
    entries = {e.external_ref: e for e in RevenueEntry.objects.select_related("customer")}
    assert entries["R2"].customer.external_id == "C2"
    assert entries["R2"].amount == Decimal("-12.50")
    assert entries["R1"].date == dt.date(2025, 3, 1)
    assert entries["R1"].import_batch_id == body["id"]
    batch = ImportBatch.objects.get(pk=body["id"])
    assert batch.created_by.groups.get().name == "analyst"
    assert body["created_by"] == batch.created_by.username


def test_bulk_revenue_accepts_a_single_line_as_an_object(api, customers):
    response = api.post(REVENUE_URL, line("R1"), format="json")

    assert response.status_code == 201
    assert RevenueEntry.objects.get().external_ref == "R1"


def test_a_bad_line_rejects_the_whole_request_naming_its_row_and_column(api, customers):
    lines = [line("R1"), line("R2", amount="12,50"), line("R3", customer="NOPE")]

    response = api.post(REVENUE_URL, lines, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "rejected"
    where = {(e["row"], e["column"]) for e in body["errors"]}
    assert (2, "amount") in where
    assert (3, "customer") in where
    assert body["error_count"] == len(body["errors"])
    assert not RevenueEntry.objects.exists()
    assert ImportBatch.objects.get(pk=body["id"]).status == ImportStatus.REJECTED


def test_sending_the_same_lines_twice_adds_nothing_the_second_time(api, customers):
    lines = [line("R1"), line("R2", customer="C2")]
    first = api.post(REVENUE_URL, lines, format="json")

    second = api.post(REVENUE_URL, lines, format="json")

    assert first.status_code == second.status_code == 201
    assert second.json()["rows_created"] == 0
    assert second.json()["rows_skipped"] == 2
    assert RevenueEntry.objects.count() == 2


def test_a_body_that_is_not_a_list_of_objects_is_rejected(api, customers):
    response = api.post(REVENUE_URL, ["R1"], format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == 1


def test_an_unknown_field_is_an_error_of_its_row(api, customers):
    response = api.post(REVENUE_URL, [{**line("R1"), "currency": "EUR"}], format="json")

    assert response.status_code == 400
    assert {"row": 1, "column": "currency"}.items() <= response.json()["errors"][0].items()
    assert not RevenueEntry.objects.exists()


@pytest.mark.parametrize(("url", "model"), [(REVENUE_URL, RevenueEntry), (COSTS_URL, CostEntry)])
def test_a_list_an_object_or_a_boolean_in_a_line_is_an_error_of_its_row_and_column(api, customers, url, model):
    # They were stored as their Python repr ("['r1']") or as the text "true".
    lines = [
        {"customer": "C1", "date": "2025-01-01", "amount": "5", "external_ref": ["r1"]},
        {"customer": "C1", "date": "2025-01-01", "amount": True, "external_ref": {"id": 2}},
        {"customer": "C1", "date": "2025-01-01", "amount": 5, "external_ref": 3},  # numbers: fine
    ]

    response = api.post(url, lines, format="json")

    assert response.status_code == 400
    assert [(e["row"], e["column"], e["message"]) for e in response.json()["errors"]] == [
        (1, "external_ref", "expected text or a number, not a list"),
        (2, "amount", "expected text or a number, not a boolean"),
        (2, "external_ref", "expected text or a number, not an object"),
    ]
    assert not model.objects.exists()


def test_bulk_revenue_takes_json_only(api, customers):
    response = api.post(REVENUE_URL, line("R1"))  # multipart form

    assert response.status_code == 415
    assert not RevenueEntry.objects.exists()


# --- The ledger is immutable ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst"])
@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_revenue_lines_cannot_be_changed_or_deleted(api_client_as, role, method):
    entry = RevenueEntryFactory(amount=Decimal("100.00"))
    url = reverse("api-revenue-detail", args=[entry.pk])

    response = getattr(api_client_as(role), method)(url, {"amount": "1.00"}, format="json")

    assert response.status_code == 405
    entry.refresh_from_db()
    assert entry.amount == Decimal("100.00")


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_cost_lines_cannot_be_changed_or_deleted(api_client_as, method):
    entry = CostEntryFactory()
    url = reverse("api-cost-detail", args=[entry.pk])

    response = getattr(api_client_as("admin"), method)(url, {"amount": "1.00"}, format="json")

    assert response.status_code == 405
    assert CostEntry.objects.filter(pk=entry.pk, amount=entry.amount).exists()


# --- Reading the ledger ---------------------------------------------------------------------------


def test_a_revenue_line_shows_money_as_a_decimal_string_and_the_date_in_iso(api):
    entry = RevenueEntryFactory(
        customer=CustomerFactory(external_id="C9"), amount=Decimal("-12.50"),
        date=dt.date(2025, 7, 4), external_ref="REF-9",
    )

    body = api.get(reverse("api-revenue-detail", args=[entry.pk])).json()

    assert body["amount"] == "-12.50"
    assert body["date"] == "2025-07-04"
    assert (body["customer"], body["external_ref"]) == ("C9", "REF-9")


def test_revenue_filters_by_customer_and_date_range(api, customers):
    c1, c2 = customers
    RevenueEntryFactory(customer=c1, date=dt.date(2025, 1, 15), external_ref="JAN")
    RevenueEntryFactory(customer=c1, date=dt.date(2025, 2, 15), external_ref="FEB")
    RevenueEntryFactory(customer=c1, date=dt.date(2025, 3, 15), external_ref="MAR")
    RevenueEntryFactory(customer=c2, date=dt.date(2025, 2, 10), external_ref="OTHER")

    response = api.get(
        REVENUE_URL, {"customer": "C1", "date_after": "2025-02-01", "date_before": "2025-03-15"}
    )

    assert response.status_code == 200
    assert [e["external_ref"] for e in response.json()["results"]] == ["MAR", "FEB"]


def test_revenue_filters_by_customer_entity(api):
    parent = CustomerFactory(external_id="P1")
    RevenueEntryFactory(customer=CustomerFactory(parent=parent), external_ref="CHILD")
    RevenueEntryFactory(customer=parent, external_ref="PARENT")
    RevenueEntryFactory(external_ref="ELSEWHERE")

    refs = {e["external_ref"] for e in api.get(REVENUE_URL, {"entity": "P1"}).json()["results"]}

    assert refs == {"CHILD", "PARENT"}


def test_a_bad_date_filter_is_a_400(api):
    assert api.get(REVENUE_URL, {"date_after": "last week"}).status_code == 400


def test_the_revenue_list_is_paginated_and_its_query_count_does_not_grow(api):
    RevenueEntryFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        api.get(REVENUE_URL)
    RevenueEntryFactory.create_batch(60)
    with CaptureQueriesContext(connection) as many:
        body = api.get(REVENUE_URL).json()

    assert (body["count"], len(body["results"])) == (62, 50)
    assert body["next"]
    assert len(many) == len(few)


# --- Costs ---------------------------------------------------------------------------------------


def test_bulk_costs_add_lines_of_each_kind(api, customers):
    lines = [
        {"customer": "C1", "date": "2025-03-01", "amount": "40.00", "external_ref": "K1",
         "kind": "acquisition", "description": "Welcome gift"},
        {"customer": "C2", "date": "2025-03-02", "amount": "5.00", "external_ref": "K2",
         "kind": "serve", "description": ""},
    ]

    response = api.post(COSTS_URL, lines, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["rows_created"] == 2
    gift = CostEntry.objects.get(external_ref="K1")
    assert (gift.kind, gift.description, gift.amount) == ("acquisition", "Welcome gift", 40)


def test_a_cost_of_an_unknown_kind_is_rejected(api, customers):
    bad = {"customer": "C1", "date": "2025-03-01", "amount": "1.00", "external_ref": "K1",
           "kind": "lunch", "description": ""}

    response = api.post(COSTS_URL, [bad], format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == 1
    assert not CostEntry.objects.exists()


def test_costs_filter_by_kind(api, customers):
    CostEntryFactory(kind="serve", external_ref="S")
    CostEntryFactory(kind="acquisition", external_ref="A")

    body = api.get(COSTS_URL, {"kind": "acquisition"}).json()

    assert [e["external_ref"] for e in body["results"]] == ["A"]
    assert body["results"][0]["amount"] == "10.00"
