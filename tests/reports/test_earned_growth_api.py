"""`GET /api/reports/earned-growth/`: the report's JSON for every role that may read reports."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from reports.earned_growth import earned_growth
from reports.periods import parse_period
from tests.factories import CustomerFactory, RevenueEntryFactory, UserFactory, reason

pytestmark = pytest.mark.django_db

URL = "/api/reports/earned-growth/"


@pytest.fixture
def company_a(db):
    """SPEC §3: revenue 100 → 130; prior customers bring 85 (+5, −20); new 45 = 25 earned + 20 bought."""
    grows = CustomerFactory(reason=reason("recommendation"))
    shrinks = CustomerFactory(reason=reason("advertising"))
    for customer, day, amount in [
        (grows, "2024-03-01", "50.00"),
        (shrinks, "2024-06-01", "50.00"),
        (grows, "2025-03-01", "55.00"),
        (shrinks, "2025-06-01", "30.00"),
        (CustomerFactory(reason=reason("reputation")), "2025-05-01", "25.00"),
        (CustomerFactory(reason=reason("promotion"), segment="Enterprise"), "2025-07-01", "20.00"),
    ]:
        RevenueEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=Decimal(amount))


def test_the_route_is_named():
    assert reverse("api-earned-growth") == URL


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_each_staff_role_reads_the_report(api_client_as, company_a, role):
    response = api_client_as(role).get(URL, {"period": "2025"})

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["nrr"], data["enc"], data["earned_growth_rate"]) == ("0.85", "0.25", "0.1")
    assert data["revenue"] == "130.00" and data["earned_growth_share"] == "0.333333"


def test_anonymous_gets_401(api_client_as, company_a):
    response = api_client_as(None).get(URL, {"period": "2025"})

    assert response.status_code == 401
    assert "revenue" not in response.json()


def test_a_user_without_a_role_gets_403(company_a):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(UserFactory())[1]}")  # in no group

    response = api.get(URL, {"period": "2025"})

    assert response.status_code == 403


def test_the_body_is_exactly_the_reports_json(api_client_as, company_a):
    query = {"period": "2025-Q3", "compare": "yoy", "grain": "customer", "segment": "Enterprise"}

    response = api_client_as("viewer").get(URL, query)

    expected = earned_growth(period=parse_period("2025-Q3"), compare="yoy", grain="customer", segment="Enterprise")
    assert response.json() == expected.as_json()
    assert response.json()["prior_period"] == "2024-Q3" and response.json()["bought_new_revenue"] == "20.00"


def test_rates_keep_six_places_while_snapshots_keep_them_exact(api_client_as):
    customer = CustomerFactory(reason=reason("recommendation"))
    for day, amount in (("2024-05-01", "1000000.00"), ("2025-05-01", "123499.60")):
        RevenueEntryFactory(customer=customer, date=dt.date.fromisoformat(day), amount=Decimal(amount))

    data = api_client_as("viewer").get(URL, {"period": "2025"}).json()

    assert (data["nrr"], data["total_growth_rate"], data["earned_growth_share"]) == ("0.1235", "-0.8765", None)
    exact = earned_growth(period=parse_period("2025")).as_json(exact_rates=True)  # what a snapshot stores
    assert exact["nrr"] == "0.1234996" and set(exact) == set(data)


def test_a_blank_segment_means_every_segment(api_client_as, company_a):
    data = api_client_as("viewer").get(URL, {"period": "2025", "segment": ""}).json()

    assert data["revenue"] == "130.00" and "segment" not in data


@pytest.mark.parametrize("period", ["2025-Q5", "last year", "2025-7"])
def test_a_bad_period_is_a_400_saying_what_is_expected(api_client_as, period):
    response = api_client_as("viewer").get(URL, {"period": period})

    assert response.status_code == 400
    assert "use a year (2025), a quarter (2025-Q3) or a month (2025-07)" in response.json()["period"][0]


def test_a_missing_period_is_a_400(api_client_as):
    response = api_client_as("viewer").get(URL)

    assert response.status_code == 400 and response.json() == {"period": ["This field is required."]}


def test_a_segment_nobody_is_in_is_a_400_naming_it(api_client_as, company_a):
    response = api_client_as("viewer").get(URL, {"period": "2025", "segment": "enterprise"})

    assert response.status_code == 400
    assert response.json() == {"segment": [
        "No customer is in segment 'enterprise' (segments match exactly, case included)."
    ]}


@pytest.mark.parametrize(("name", "value"), [("grain", "household"), ("compare", "last")])
def test_a_bad_grain_or_comparison_is_a_400(api_client_as, name, value):
    response = api_client_as("viewer").get(URL, {"period": "2025", name: value})

    assert response.status_code == 400 and name in response.json()


def test_the_schema_documents_parameters_the_report_and_errors():
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][URL]["get"]

    assert {p["name"]: p.get("required", False) for p in operation["parameters"]} == {
        "period": True, "compare": False, "grain": False, "segment": False,
    }
    assert {"200", "400", "401", "403"} <= set(map(str, operation["responses"]))
