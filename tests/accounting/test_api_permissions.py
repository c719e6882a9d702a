"""Every accounting API endpoint and method, as admin, analyst, viewer and anonymous.

Anonymous gets 401; a viewer (dashboards only) gets 403; analysts read and import but cannot edit
reason categories; admins can. A method an endpoint lacks is 405 for any signed-in user.
"""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import ImportBatch, ImportKind, ImportStatus
from tests.factories import CostEntryFactory, CustomerFactory, RevenueEntryFactory

pytestmark = pytest.mark.django_db

ROLES = (None, "viewer", "analyst", "admin")


@pytest.fixture
def world():
    customer = CustomerFactory(external_id="C1")
    return {
        "customer": customer,
        "revenue": RevenueEntryFactory(customer=customer, date=dt.date(2025, 1, 31)),
        "cost": CostEntryFactory(customer=customer),
        "batch": ImportBatch.objects.create(
            kind=ImportKind.REVENUE, source="api", status=ImportStatus.SUCCEEDED
        ),
    }


def _url(name, world):
    """`name` is a route name, optionally followed by the fixture object its URL needs."""
    route, _, obj = name.partition(":")
    if not obj:
        return reverse(route)
    if obj == "category":
        return reverse(route, args=["advertising"])
    return reverse(route, args=[world[obj].pk])


REVENUE_LINE = {
    "customer": "C1", "date": "2025-03-01", "amount": "10.00", "external_ref": "R-NEW",
    "product": "Plan",
}
COST_LINE = {
    "customer": "C1", "date": "2025-03-01", "amount": "5.00", "external_ref": "K-NEW",
    "kind": "serve", "description": "",
}
CATEGORY = {"slug": "partner", "label": "A partner", "kind": "earned", "is_active": True}
CATEGORY_PUT = {"slug": "advertising", "label": "Ads", "kind": "bought", "order": 5}

# (method, route[:object], body, expected status for anonymous, viewer, analyst, admin)
CASES = [
    ("get", "api-customer-list", None, (401, 403, 200, 200)),
    ("post", "api-customer-list", {"external_id": "NEW", "name": "New"}, (401, 403, 201, 201)),
    ("delete", "api-customer-list", None, (401, 405, 405, 405)),
    ("get", "api-customer-detail:customer", None, (401, 403, 200, 200)),
    ("patch", "api-customer-detail:customer", {"segment": "Enterprise"}, (401, 403, 200, 200)),
    ("put", "api-customer-detail:customer", {"external_id": "C1"}, (401, 405, 405, 405)),
    ("delete", "api-customer-detail:customer", None, (401, 405, 405, 405)),
    ("post", "api-customer-bulk", [{"external_id": "B1"}], (401, 403, 201, 201)),
    ("get", "api-customer-bulk", None, (401, 405, 405, 405)),
    ("post", "api-customer-reason:customer", {"reason": "advertising"}, (401, 403, 200, 200)),
    ("get", "api-customer-reason:customer", None, (401, 405, 405, 405)),
    ("get", "api-reason-category-list", None, (401, 403, 200, 200)),
    ("post", "api-reason-category-list", CATEGORY, (401, 403, 403, 201)),
    ("get", "api-reason-category-detail:category", None, (401, 403, 200, 200)),
    ("patch", "api-reason-category-detail:category", {"label": "Ads"}, (401, 403, 403, 200)),
    ("put", "api-reason-category-detail:category", CATEGORY_PUT, (401, 403, 403, 200)),
    ("delete", "api-reason-category-detail:category", None, (401, 405, 405, 405)),
    ("get", "api-revenue-list", None, (401, 403, 200, 200)),
    ("post", "api-revenue-list", [REVENUE_LINE], (401, 403, 201, 201)),
    ("get", "api-revenue-detail:revenue", None, (401, 403, 200, 200)),
    ("put", "api-revenue-detail:revenue", REVENUE_LINE, (401, 405, 405, 405)),
    ("patch", "api-revenue-detail:revenue", {"amount": "1.00"}, (401, 405, 405, 405)),
    ("delete", "api-revenue-detail:revenue", None, (401, 405, 405, 405)),
    ("get", "api-cost-list", None, (401, 403, 200, 200)),
    ("post", "api-cost-list", [COST_LINE], (401, 403, 201, 201)),
    ("get", "api-cost-detail:cost", None, (401, 403, 200, 200)),
    ("put", "api-cost-detail:cost", COST_LINE, (401, 405, 405, 405)),
    ("patch", "api-cost-detail:cost", {"amount": "1.00"}, (401, 405, 405, 405)),
    ("delete", "api-cost-detail:cost", None, (401, 405, 405, 405)),
    ("get", "api-import-list", None, (401, 403, 200, 200)),
    ("post", "api-import-list", {}, (401, 405, 405, 405)),
    ("get", "api-import-detail:batch", None, (401, 403, 200, 200)),
    ("get", "api-import-errors:batch", None, (401, 403, 200, 200)),
    ("patch", "api-import-detail:batch", {"status": "failed"}, (401, 405, 405, 405)),
    ("delete", "api-import-detail:batch", None, (401, 405, 405, 405)),
]

PARAMS = [
    pytest.param(method, route, body, role, expected[i], id=f"{method.upper()} {route} as {role}")
    for method, route, body, expected in CASES
    for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize(("method", "route", "body", "role", "expected"), PARAMS)
def test_each_role_gets_the_status_its_permissions_allow(
    api_client_as, world, method, route, body, role, expected
):
    api = api_client_as(role)
    response = getattr(api, method)(_url(route, world), body, format="json")
    assert response.status_code == expected, response.content


def test_anonymous_is_told_how_to_authenticate(api_client_as):
    response = api_client_as(None).get(reverse("api-customer-list"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_forbidden_write_changes_nothing(api_client_as, world):
    api = api_client_as("viewer")
    api.post(reverse("api-revenue-list"), [REVENUE_LINE], format="json")
    api.patch(_url("api-customer-detail:customer", world), {"name": "X"}, format="json")
    world["customer"].refresh_from_db()
    assert world["customer"].name != "X"
    assert not ImportBatch.objects.filter(kind=ImportKind.REVENUE, source="api").exclude(
        pk=world["batch"].pk
    ).exists()


def test_an_analyst_cannot_import_without_the_import_permission(api_client_as, analyst, world):
    """Bulk writes record an ImportBatch, so they need add_importbatch besides add_revenueentry."""
    limited = Group.objects.create(name="no-imports")
    limited.permissions.set(
        Permission.objects.filter(codename__in=["view_revenueentry", "add_revenueentry"])
    )
    analyst.groups.set([limited])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(analyst)[1]}")

    response = api.post(reverse("api-revenue-list"), [REVENUE_LINE], format="json")

    assert response.status_code == 403
