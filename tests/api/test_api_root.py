"""The API's root (GET /api/, README "REST API"): one index of every app's endpoints, whichever
app registered them, with every route keeping its URL and name."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "customers": "/api/customers/", "reason-categories": "/api/reason-categories/", "revenue": "/api/revenue/",
    "costs": "/api/costs/", "imports": "/api/imports/",
    "surveys": "/api/surveys/", "invitations": "/api/invitations/", "responses": "/api/responses/",
    "reports/earned-growth": "/api/reports/earned-growth/", "reports/nps": "/api/reports/nps/",
}


def test_the_api_root_lists_every_apps_endpoints(api_client_as):
    index = api_client_as("admin").get("/api/")
    assert index.status_code == 200
    assert {key: url.removeprefix("http://testserver") for key, url in index.json().items()} == ENDPOINTS


def test_the_api_root_with_a_format_suffix_lists_them_too(api_client_as):
    index = api_client_as("admin").get("/api/.json").json()
    assert set(index) == set(ENDPOINTS)
    # The router's routes have a .json form; the reports' views do not, and are linked without it.
    assert index["surveys"].endswith("/api/surveys.json") and index["reports/nps"].endswith("/api/reports/nps/")


def test_every_route_keeps_its_name(api_client_as):
    assert reverse("api-root") == "/api/"
    assert reverse("api-customer-list") == "/api/customers/"
    assert reverse("api-survey-detail", args=[7]) == "/api/surveys/7/"
    assert reverse("api-response-list") == "/api/responses/"
    assert reverse("api-nps") == "/api/reports/nps/"
    assert api_client_as("admin").get("/api/surveys.json").status_code == 200
