"""Money on every door: a JSON number keeps its digits, an acquisition cost is read by the import's rule."""

import copy
import datetime as dt
import json
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from accounting.models import Customer, RevenueEntry
from cxplatform import api_parsers
from surveys.models import Invitation
from tests.factories import CustomerFactory, SurveyFactory
from tests.form_data import admin_change_data

pytestmark = pytest.mark.django_db

REVENUE_URL = reverse("api-revenue-list")
CUSTOMERS_URL = reverse("api-customer-list")
BULK_URL = reverse("api-customer-bulk")
# What the bulk endpoint and the CSV import refuse in an amount cell, and Decimal() takes.
NOT_AMOUNTS = ["١٢٣", "１２", "+5", "1_000", "5e2", ".5"]


def post_json(api, url, data, number: str):
    """`data` as JSON with its "@" replaced by `number`, a JSON number as written (1e3, 10.0000000000000001)."""
    return api.post(url, json.dumps(data).replace('"@"', number), content_type="application/json")


def revenue_line(amount) -> list[dict]:
    return [{"customer": "C1", "date": "2025-03-01", "amount": amount, "external_ref": "R1"}]


def admin_url(customer):
    return reverse("admin:accounting_customer_change", args=[customer.pk])


# --- JSON numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["10.0000000000000001", "0.1000000000000000001", "1e-400", "99999999999.999999"])
def test_a_json_number_amount_with_more_decimals_than_the_ledger_holds_is_refused(api_client_as, raw):
    """Read through a float, 10.0000000000000001 was stored as 10.00; as a string it is refused."""
    CustomerFactory(external_id="C1")
    response = post_json(api_client_as("analyst"), REVENUE_URL, revenue_line("@"), raw)

    assert response.status_code == 400, response.json()
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(1, "amount")]
    assert not RevenueEntry.objects.exists()


@pytest.mark.parametrize(("raw", "stored"), [("1e3", "1000.00"), ("12.5", "12.50"), ("-0.0", "0.00")])
def test_a_plain_json_number_amount_is_still_taken(api_client_as, raw, stored):
    """Written out as a person writes it, 1e3 stays the amount 1000 it was as a float."""
    CustomerFactory(external_id="C1")
    response = post_json(api_client_as("analyst"), REVENUE_URL, revenue_line("@"), raw)

    assert response.status_code == 201, response.json()
    assert RevenueEntry.objects.get().amount == Decimal(stored)


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "NaN", "Infinity"])
def test_a_number_no_float_holds_is_still_a_parse_error(api_client_as, raw):
    """Past a float's range, int() of a related id would build an integer of any length."""
    response = post_json(api_client_as("admin"), CUSTOMERS_URL, {"external_id": "K1", "acquisition_cost": "@"}, raw)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_a_json_number_is_still_a_float_to_the_other_fields(api_client_as):
    """A text field takes 1.5 and an integer field 1e1, as they did: a Decimal they refused."""
    CustomerFactory(external_id="C-1")
    survey = SurveyFactory(kind="transactional")
    trigger = json.dumps({"survey": survey.pk, "customer": "C-1", "touchpoint": "@1.5", "delay_minutes": "@1e1"})
    body = trigger.replace('"@1.5"', "1.5").replace('"@1e1"', "1e1")

    response = api_client_as("analyst").post(reverse("api-invitation-list"), body, content_type="application/json")

    assert response.status_code == 201, response.json()
    assert response.json()["touchpoint"] == "1.5"
    invitation = Invitation.objects.get()
    assert abs(invitation.send_after - invitation.created_at - dt.timedelta(minutes=10)) < dt.timedelta(seconds=5)


def test_a_json_number_keeps_its_digits_when_copied():
    """A float subclass: a copy or a pickle keeps the digits sent, not the float's."""
    number = api_parsers.JSONNumber("10.0000000000000001")

    assert (number, str(copy.deepcopy(number))) == (10.0, "10.0000000000000001")
    assert str(api_parsers.JSONNumber("1e-999999999")) == "1E-999999999"  # not a gigabyte of zeros


# --- The acquisition cost of one customer -------------------------------------------------------


@pytest.mark.parametrize("raw", ["-0", "-0.00", -0.0])
def test_a_negative_zero_acquisition_cost_is_answered_as_0_00(api_client_as, raw):
    """DRF kept the sign of "-0" (answered "-0.00"); the import reads it as zero."""
    response = api_client_as("admin").post(CUSTOMERS_URL, {"external_id": "N1", "acquisition_cost": raw}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["acquisition_cost"] == "0.00"


def test_a_negative_zero_acquisition_cost_is_audited_as_0_00(api_client_as):
    """The audit log wrote the change as "-0.00"."""
    customer = CustomerFactory(external_id="N1", acquisition_cost=None)

    response = api_client_as("admin").patch(
        reverse("api-customer-detail", args=[customer.pk]), {"acquisition_cost": "-0"}, format="json"
    )

    assert response.status_code == 200
    change = LogEntry.objects.get_for_object(customer).filter(changes__has_key="acquisition_cost").first()
    assert change.changes["acquisition_cost"][1] == "0.00"


@pytest.mark.parametrize("raw", NOT_AMOUNTS)
def test_the_customer_api_refuses_an_acquisition_cost_the_bulk_endpoint_refuses(api_client_as, raw):
    """DRF read the text with Decimal(), which takes Arabic digits, "+5", "1_000", "5e2" and ".5"."""
    api = api_client_as("admin")
    bulk = api.post(BULK_URL, [{"external_id": "B1", "acquisition_cost": raw}], format="json")
    assert bulk.status_code == 400

    single = api.post(CUSTOMERS_URL, {"external_id": "S1", "acquisition_cost": raw}, format="json")

    assert single.status_code == 400, single.json()
    assert single.json()["acquisition_cost"] == [bulk.json()["errors"][0]["message"]]
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("raw", "stored"), [("1e3", "1000.00"), ("12.5", "12.50"), ("5", "5.00"), ('" 7.25 "', "7.25")]
)
def test_the_customer_api_takes_an_acquisition_cost_as_the_bulk_endpoint_does(api_client_as, raw, stored):
    """A JSON number is its digits written out: 1e3 is taken, as by the bulk endpoint."""
    api = api_client_as("admin")
    bulk = post_json(api, BULK_URL, [{"external_id": "B1", "acquisition_cost": "@"}], raw)

    single = post_json(api, CUSTOMERS_URL, {"external_id": "S1", "acquisition_cost": "@"}, raw)

    assert (bulk.status_code, single.status_code) == (201, 201), single.json()
    assert single.json()["acquisition_cost"] == stored
    assert {c.acquisition_cost for c in Customer.objects.all()} == {Decimal(stored)}


def test_the_customer_api_refuses_a_json_number_with_three_decimals(api_client_as):
    """The rule's own message, as the bulk endpoint gives for the cell."""
    customer = {"external_id": "S1", "acquisition_cost": "@"}

    response = post_json(api_client_as("admin"), CUSTOMERS_URL, customer, "12.345")

    assert response.status_code == 400
    assert "is not an amount" in response.json()["acquisition_cost"][0]


# --- The admin's customer form -------------------------------------------------------------------


@pytest.mark.parametrize("raw", NOT_AMOUNTS)
def test_the_admin_refuses_an_acquisition_cost_the_import_refuses(admin_client, raw):
    """Django's DecimalField also read the text with Decimal()."""
    customer = CustomerFactory(acquisition_cost=Decimal("10.00"))
    page = admin_url(customer)

    response = admin_client.post(page, admin_change_data(admin_client, page, acquisition_cost=raw))

    assert response.status_code == 200
    assert "acquisition_cost" in response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.acquisition_cost == Decimal("10.00")


@pytest.mark.parametrize(("raw", "stored"), [("-0", "0.00"), ("12.5", "12.50")])
def test_the_admin_takes_an_amount_and_audits_minus_zero_as_0_00(admin_client, raw, stored):
    """Django's field kept the sign of "-0": the audit log wrote "-0.00"."""
    customer = CustomerFactory(acquisition_cost=Decimal("10.00"))
    page = admin_url(customer)

    response = admin_client.post(page, admin_change_data(admin_client, page, acquisition_cost=raw))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert str(customer.acquisition_cost) == stored
    change = LogEntry.objects.get_for_object(customer).filter(changes__has_key="acquisition_cost").first()
    assert change.changes["acquisition_cost"] == ["10.00", stored]


def test_the_admin_page_posted_back_as_it_stands_still_saves(admin_client):
    """The stored cost comes back as the page drew it ("10.00"), which the rule takes."""
    customer = CustomerFactory(acquisition_cost=Decimal("10.00"))
    page = admin_url(customer)

    response = admin_client.post(page, admin_change_data(admin_client, page, name="Renamed"))

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.acquisition_cost) == ("Renamed", Decimal("10.00"))


@pytest.mark.parametrize("number", ["1e-9999999999999999999", "0e9999999999999999999", "-1E-99999999999999999999"])
def test_an_exponent_past_any_decimal_is_a_400_not_a_500(api_client_as, number):
    """float() reads these as 0.0, but keeping their digits (Decimal) overflowed the exponent: an
    ArithmeticError the parser did not catch, a 500 on every JSON endpoint for 25 bytes."""
    CustomerFactory(external_id="C1")
    body = f'{{"survey": 1, "customer": "C1", "touchpoint": "order", "delay_minutes": {number}}}'
    api = api_client_as("analyst")
    api.raise_request_exception = False
    response = api.post(reverse("api-invitation-list"), body, content_type="application/json")
    assert response.status_code == 400
