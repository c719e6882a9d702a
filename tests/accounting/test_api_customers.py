"""Customers over the API: list and filters, create and edit, the reason endpoint, bulk import."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting.models import Customer, ImportBatch
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-customer-list")
BULK_URL = reverse("api-customer-bulk")


def detail_url(customer):
    return reverse("api-customer-detail", args=[customer.pk])


def reason_url(customer):
    return reverse("api-customer-reason", args=[customer.pk])


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["external_id"] for c in response.json()["results"]]


# --- List and filters ----------------------------------------------------------------------------


@pytest.fixture
def classed_customers():
    """One customer per way of ending up earned, bought or unknown."""
    mapped_other = CustomerFactory(
        external_id="MAPPED", reason=reason("other"), reason_text="my neighbour",
        reason_mapped_to=reason("recommendation"),
    )
    return [
        CustomerFactory(external_id="EARNED", reason=reason("reputation")),
        mapped_other,
        CustomerFactory(external_id="BOUGHT", reason=reason("advertising")),
        CustomerFactory(external_id="NONE", reason=None),
        CustomerFactory(external_id="OTHER", reason=reason("other"), reason_text="a podcast"),
    ]


@pytest.mark.parametrize(
    ("reason_class", "expected"),
    [
        ("earned", ["EARNED", "MAPPED"]),
        ("bought", ["BOUGHT"]),
        ("unknown", ["NONE", "OTHER"]),
    ],
)
def test_customers_filter_by_reason_class(api, classed_customers, reason_class, expected):
    response = api.get(LIST_URL, {"reason_class": reason_class})

    assert listed(response) == expected
    assert {c["reason_class"] for c in response.json()["results"]} == {reason_class}


def test_the_reason_class_filter_agrees_with_the_model(api, classed_customers):
    for customer in classed_customers:
        found = listed(api.get(LIST_URL, {"reason_class": customer.reason_kind}))
        assert customer.external_id in found


def test_an_unknown_reason_class_is_a_400(api):
    assert api.get(LIST_URL, {"reason_class": "free"}).status_code == 400


def test_customers_filter_by_segment(api):
    CustomerFactory(external_id="A", segment="SMB")
    CustomerFactory(external_id="B", segment="Enterprise")

    assert listed(api.get(LIST_URL, {"segment": "Enterprise"})) == ["B"]


def test_customers_search_in_external_id_name_and_email(api):
    CustomerFactory(external_id="ACME-1", name="Acme", email="ops@acme.example")
    CustomerFactory(external_id="X-2", name="Globex", email="it@globex.example")
    CustomerFactory(external_id="X-3", name="Initech", email="boss@acme.example")

    assert listed(api.get(LIST_URL, {"search": "acme"})) == ["ACME-1", "X-3"]
    assert listed(api.get(LIST_URL, {"search": "globex"})) == ["X-2"]


def test_customers_filter_by_external_id_and_acquisition_date(api):
    CustomerFactory(external_id="OLD", acquired_on=dt.date(2023, 5, 1))
    CustomerFactory(external_id="NEW", acquired_on=dt.date(2025, 5, 1))

    assert listed(api.get(LIST_URL, {"acquired_on_after": "2025-01-01"})) == ["NEW"]
    assert listed(api.get(LIST_URL, {"external_id": "OLD"})) == ["OLD"]


def test_customers_can_be_ordered(api):
    CustomerFactory(external_id="A", name="Zed")
    CustomerFactory(external_id="B", name="Amy")

    assert listed(api.get(LIST_URL, {"ordering": "name"})) == ["B", "A"]
    assert listed(api.get(LIST_URL, {"ordering": "-external_id"})) == ["B", "A"]


def test_a_customer_shows_its_relations_by_external_id(api):
    parent = CustomerFactory(external_id="P1")
    referrer = CustomerFactory(external_id="REF")
    child = CustomerFactory(
        external_id="C1", parent=parent, referred_by=referrer, reason=reason("recommendation"),
        acquisition_cost=Decimal("25.00"),
    )

    body = api.get(detail_url(child)).json()

    assert (body["parent"], body["entity"], body["referred_by"]) == ("P1", "P1", "REF")
    assert (body["reason"], body["reason_class"]) == ("recommendation", "earned")
    assert body["acquisition_cost"] == "25.00"
    assert body["acquired_on"] == "2024-01-15"


def test_the_customer_list_query_count_does_not_grow_with_customers(api):
    parent = CustomerFactory()
    CustomerFactory(parent=parent, referred_by=parent, reason=reason("other"))
    with CaptureQueriesContext(connection) as few:
        api.get(LIST_URL)
    for _ in range(10):
        CustomerFactory(parent=parent, referred_by=parent, reason=reason("advertising"))
    with CaptureQueriesContext(connection) as many:
        api.get(LIST_URL)

    assert len(many) == len(few)


# --- Create and edit -----------------------------------------------------------------------------


def test_an_analyst_adds_a_customer_with_a_reason_and_a_parent(api):
    CustomerFactory(external_id="HQ")
    CustomerFactory(external_id="FRIEND")
    payload = {
        "external_id": "BRANCH", "name": "Branch office", "email": "branch@example.com",
        "segment": "Enterprise", "acquired_on": "2025-02-01", "parent": "HQ",
        "referred_by": "FRIEND", "reason": "recommendation", "acquisition_cost": "12.30",
    }

    response = api.post(LIST_URL, payload, format="json")

    assert response.status_code == 201, response.content
    customer = Customer.objects.get(external_id="BRANCH")
    assert customer.entity.external_id == "HQ"
    assert customer.reason.slug == "recommendation"
    assert customer.reason_source == "api"
    assert customer.reason_answered_at is not None
    assert response.json()["entity"] == "HQ"
    assert response.json()["acquisition_cost"] == "12.30"


def test_a_new_customer_without_a_parent_is_its_own_entity(api):
    response = api.post(LIST_URL, {"external_id": "SOLO"}, format="json")

    assert response.json()["entity"] == "SOLO"
    assert Customer.objects.get(external_id="SOLO").reason is None


def test_other_without_a_text_is_refused_and_nothing_is_created(api):
    response = api.post(LIST_URL, {"external_id": "N", "reason": "other"}, format="json")

    assert response.status_code == 400
    assert "reason_text" in response.json()
    assert not Customer.objects.filter(external_id="N").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"external_id": "N", "reason": "telepathy"}, "reason"),
        ({"external_id": "N", "parent": "NOBODY"}, "parent"),
        ({"external_id": "N", "email": "not-an-email"}, "email"),
        ({"external_id": "N", "acquisition_cost": "-1.00"}, "acquisition_cost"),
        ({"name": "No id"}, "external_id"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(api, payload, field):
    response = api.post(LIST_URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_new_customer_with_a_reason_text_but_no_reason_is_refused_and_nothing_is_created(api):
    # As the bulk import, PATCH and the admin refuse it: the text explains no reason.
    response = api.post(LIST_URL, {"external_id": "N", "reason_text": "because"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason_text": ["Give the reason this text explains."]}
    assert not Customer.objects.filter(external_id="N").exists()


def test_patching_a_text_onto_a_customer_without_a_reason_is_refused(api):
    customer = CustomerFactory(reason=None)

    response = api.patch(detail_url(customer), {"reason_text": "because"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason_text": ["Give the reason this text explains."]}
    customer.refresh_from_db()
    assert customer.reason_text == ""


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"external_id": "N", "acquisiton_cost": "150.00"}, {"acquisiton_cost": ["Unknown field."]}),
        ({"external_id": "N", "reason_class": "earned"}, {"reason_class": ["Read-only field."]}),
        ({"external_id": "N", "id": 7, "entity": "N"}, {"id": ["Read-only field."], "entity": ["Read-only field."]}),
    ],
)
def test_a_new_customer_with_a_field_it_would_not_store_is_refused_naming_it(api, payload, errors):
    # DRF ignores such fields: a typo lost its value behind a 201.
    response = api.post(LIST_URL, payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not Customer.objects.exists()


def test_patching_a_read_only_or_unknown_field_is_refused_and_changes_nothing(api):
    customer = CustomerFactory(name="Old", reason=reason("advertising"))

    response = api.patch(detail_url(customer), {"name": "New", "reason_class": "earned", "colour": "red"},
                         format="json")

    assert response.status_code == 400
    assert response.json() == {"reason_class": ["Read-only field."], "colour": ["Unknown field."]}
    customer.refresh_from_db()
    assert customer.name == "Old"


def test_a_duplicate_external_id_is_a_400(api):
    CustomerFactory(external_id="DUP")

    response = api.post(LIST_URL, {"external_id": "DUP"}, format="json")

    assert response.status_code == 400
    assert "external_id" in response.json()


def test_moving_a_customer_under_a_parent_moves_its_children_too(api):
    group = CustomerFactory(external_id="GROUP")
    company = CustomerFactory(external_id="CO")
    division = CustomerFactory(external_id="DIV", parent=company)

    response = api.patch(detail_url(company), {"parent": "GROUP"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["entity"] == "GROUP"
    division.refresh_from_db()
    assert division.entity == group


def test_a_parent_that_would_make_a_cycle_is_refused(api):
    company = CustomerFactory(external_id="CO")
    division = CustomerFactory(external_id="DIV", parent=company)

    response = api.patch(detail_url(company), {"parent": "DIV"}, format="json")

    assert response.status_code == 400
    assert "parent" in response.json()
    company.refresh_from_db()
    assert company.parent is None
    assert division.parent == company


def test_a_customer_cannot_refer_itself(api):
    customer = CustomerFactory(external_id="SELF")

    response = api.patch(detail_url(customer), {"referred_by": "SELF"}, format="json")

    assert response.status_code == 400


def test_patching_the_reason_records_where_it_came_from(api):
    customer = CustomerFactory(reason=reason("other"), reason_text="a podcast")

    response = api.patch(detail_url(customer), {"reason": "advertising"}, format="json")

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.reason.slug, customer.reason_text, customer.reason_source) == (
        "advertising", "", "api",
    )


def test_a_new_customer_with_an_inactive_reason_is_a_400_and_nothing_is_created(api, retired):
    response = api.post(LIST_URL, {"external_id": "N", "reason": "advertising"}, format="json")

    assert response.status_code == 400
    assert response.json()["reason"] == ["'advertising' is an inactive reason category; choose an active one."]
    assert not Customer.objects.filter(external_id="N").exists()


def test_patching_in_an_inactive_reason_is_a_400_and_changes_nothing(api, retired):
    customer = CustomerFactory(name="Old", reason=reason("promotion"))

    response = api.patch(detail_url(customer), {"name": "New", "reason": "advertising"}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()
    customer.refresh_from_db()
    assert (customer.name, customer.reason.slug) == ("Old", "promotion")


def test_patching_back_the_inactive_reason_a_customer_has_is_accepted(api, retired):
    customer = CustomerFactory(name="Old", reason=retired)

    response = api.patch(detail_url(customer), {"name": "New", "reason": "advertising"}, format="json")

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.name, customer.reason) == ("New", retired)


def test_patching_other_fields_keeps_the_reason(api):
    customer = CustomerFactory(reason=reason("advertising"), reason_source="email")

    api.patch(detail_url(customer), {"segment": "Enterprise"}, format="json")

    customer.refresh_from_db()
    assert (customer.segment, customer.reason.slug, customer.reason_source) == (
        "Enterprise", "advertising", "email",
    )


# --- Reason endpoint -----------------------------------------------------------------------------


def test_the_reason_endpoint_records_the_answer(api):
    customer = CustomerFactory()

    response = api.post(
        reason_url(customer), {"reason": "recommendation", "reason_text": "my sister"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["reason"], response.json()["reason_class"]) == (
        "recommendation", "earned",
    )
    customer.refresh_from_db()
    assert (customer.reason.slug, customer.reason_text) == ("recommendation", "my sister")
    assert customer.reason_source == "api"
    assert customer.reason_answered_at is not None


def test_a_new_answer_replaces_an_admins_mapping(api):
    customer = CustomerFactory(
        reason=reason("other"), reason_text="tv", reason_mapped_to=reason("advertising")
    )

    response = api.post(reason_url(customer), {"reason": "other", "reason_text": "a podcast"})

    assert response.status_code == 200
    assert (response.json()["reason_mapped_to"], response.json()["reason_class"]) == (
        None, "unknown",
    )


def test_the_reason_endpoint_needs_a_text_for_other(api):
    customer = CustomerFactory(reason=reason("advertising"))

    response = api.post(reason_url(customer), {"reason": "other"}, format="json")

    assert response.status_code == 400
    assert "reason_text" in response.json()
    customer.refresh_from_db()
    assert customer.reason.slug == "advertising"


def test_the_reason_endpoint_refuses_an_unknown_category(api):
    response = api.post(reason_url(CustomerFactory()), {"reason": "telepathy"}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()


def test_the_reason_endpoint_refuses_an_inactive_category(api, retired):
    customer = CustomerFactory(reason=reason("promotion"))

    response = api.post(reason_url(customer), {"reason": "advertising"}, format="json")

    assert response.status_code == 400
    assert response.json()["reason"] == ["'advertising' is an inactive reason category; choose an active one."]
    customer.refresh_from_db()
    assert customer.reason.slug == "promotion"


def test_the_reason_endpoint_accepts_the_inactive_category_the_customer_has(api, retired):
    customer = CustomerFactory(reason=retired, reason_source="import")

    response = api.post(reason_url(customer), {"reason": "advertising"}, format="json")

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    # The answer it already had, sent again: accepted, and nothing about it changes.
    assert (customer.reason, customer.reason_source) == (retired, "import")


def test_the_reason_endpoint_404s_for_an_unknown_customer(api):
    url = reverse("api-customer-reason", args=[999999])

    assert api.post(url, {"reason": "advertising"}, format="json").status_code == 404


# --- Bulk ----------------------------------------------------------------------------------------


def test_bulk_creates_new_customers_and_updates_known_ones(api):
    CustomerFactory(external_id="KNOWN", name="Old name")
    records = [
        {"external_id": "KNOWN", "name": "New name", "segment": "Enterprise"},
        {"external_id": "NEW", "name": "Newcomer", "parent": "KNOWN", "reason": "advertising",
         "acquired_on": "2025-04-01", "acquisition_cost": "10.00", "language": "en"},
    ]

    response = api.post(BULK_URL, records, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"]) == ("customers", "succeeded")
    assert (body["rows_created"], body["rows_updated"]) == (1, 1)
    assert Customer.objects.get(external_id="KNOWN").name == "New name"
    new = Customer.objects.get(external_id="NEW")
    assert (new.parent.external_id, new.reason.slug) == ("KNOWN", "advertising")


def test_a_bad_customer_row_rejects_the_bulk_request(api):
    records = [
        {"external_id": "OK", "name": "Fine"},
        {"external_id": "BAD", "email": "not-an-email"},
        {"external_id": "WORSE", "reason": "telepathy"},
    ]

    response = api.post(BULK_URL, records, format="json")

    assert response.status_code == 400
    where = {(e["row"], e["column"]) for e in response.json()["errors"]}
    assert {(2, "email"), (3, "reason")} <= where
    assert not Customer.objects.exists()
    assert ImportBatch.objects.get().status == "rejected"


def test_bulk_refuses_an_inactive_reason_for_a_customer_without_it(api, retired):
    CustomerFactory(external_id="HAS", reason=retired)
    records = [
        {"external_id": "HAS", "name": "Keeps it", "reason": "advertising"},
        {"external_id": "NEW", "reason": "advertising"},
    ]

    response = api.post(BULK_URL, records, format="json")

    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, "reason")]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["HAS"]
    assert Customer.objects.get().name != "Keeps it"


def test_bulk_refuses_a_list_an_object_or_a_boolean_for_a_cell(api):
    # A cell is text or a number; a list was stored as its Python repr ("['Enterprise']").
    records = [
        {"external_id": "N1", "segment": ["Enterprise"]},
        {"external_id": "N2", "name": {"first": "Ann"}, "language": True},
        {"external_id": 3, "acquisition_cost": 12.5},  # numbers stay accepted
    ]

    response = api.post(BULK_URL, records, format="json")

    assert response.status_code == 400
    assert [(e["row"], e["column"], e["message"]) for e in response.json()["errors"]] == [
        (1, "segment", "expected text or a number, not a list"),
        (2, "name", "expected text or a number, not an object"),
        (2, "language", "expected text or a number, not a boolean"),
    ]
    assert not Customer.objects.exists()


def test_bulk_takes_numbers_for_cells(api):
    response = api.post(BULK_URL, [{"external_id": 3, "acquisition_cost": 12.5}], format="json")

    assert response.status_code == 201, response.content
    assert Customer.objects.get(external_id="3").acquisition_cost == Decimal("12.50")


def test_bulk_takes_a_json_list(api):
    assert api.post(BULK_URL, {"external_id": "A"}).status_code == 415  # a form
    assert not Customer.objects.exists()
