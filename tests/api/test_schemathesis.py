"""Fuzz the REST API against its own OpenAPI schema (schemathesis, in-process through the WSGI app).

Every operation of `/api/schema/` is called with generated valid and invalid input by an admin
holding a real knox token, and each response must be no server error (5xx), have a documented
status code and content type, and match the documented body schema. A few seeded objects give the
detail endpoints something to find besides 404s.

Examples are derandomized so CI runs the same cases every time. To explore further locally:
SCHEMATHESIS_RANDOM=1 SCHEMATHESIS_MAX_EXAMPLES=100 SCHEMATHESIS_COVERAGE_MODE=all.
"""

import base64
import copy
import datetime as dt
import json
import os
from decimal import Decimal

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.db import close_old_connections
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from rest_framework.test import APIRequestFactory, force_authenticate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from accounting.imports import import_records
from cxplatform.wsgi import application
from surveys.models import SurveyKind
from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
    UserFactory,
    reason,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "correct horse battery staple"
EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))

# Two phases per operation: "coverage" (every boundary and missing/extra value the schema defines,
# not bounded by max_examples) and "fuzzing" (EXAMPLES random cases, valid and invalid). Coverage
# of valid values only: its invalid ones would add ~2,400 requests (~100 s); the fuzzing phase
# still sends invalid input. SCHEMATHESIS_COVERAGE_MODE=all for a thorough local run.
CONFIG = schemathesis.Config.from_dict(
    {"phases": {"coverage": {"generation": {"mode": os.environ.get("SCHEMATHESIS_COVERAGE_MODE", "positive")}}}}
)
SCHEMA_URL = "/api/schema/"


def schema_as_served_to_a_logged_in_user() -> dict:
    """`/api/schema/`, routed and served as to any logged-in user (it needs a login, SPEC §1).

    Loaded at collection, before the test database exists, so the request carries a user forced by
    DRF (unsaved: the schema view asks only that someone is logged in) instead of a token;
    `test_the_fuzzed_schema_is_the_one_a_token_gets` checks a real token is served the same document.
    """
    request = APIRequestFactory().get(SCHEMA_URL, {"format": "json"})
    force_authenticate(request, user=get_user_model()(username="schema-reader"))
    response = resolve(SCHEMA_URL).func(request).render()
    assert response.status_code == 200, response.content
    return json.loads(response.content)


DOCUMENT = schema_as_served_to_a_logged_in_user()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=CONFIG)
schema.app, schema.location = application, SCHEMA_URL  # called in-process, as from_wsgi() does

# The ids of the seeded objects, by the path prefix of the operations that look them up.
SEEDED: dict[str, dict[str, object]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, look up a seeded object instead of the generated (almost always missing) one."""
    for prefix, known in SEEDED.items():
        if context.operation.path.startswith(prefix) and set(known) <= set(path_parameters):
            return st.sampled_from([path_parameters, {**path_parameters, **known}])
    return st.just(path_parameters)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Like Django's test client: a request must not close the connection holding the test's transaction.

    Django's WSGI handler closes a connection whose autocommit differs from the settings at the start
    and end of each request, which is always so inside the test's transaction.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, wsgi_keeps_the_test_connection):
    """An admin, and one of each object the API serves."""
    admin = UserFactory(username="fuzz-admin", role="admin", password=PASSWORD)
    customer = CustomerFactory(external_id="FUZZ-1", reason=reason("recommendation"))
    revenue = RevenueEntryFactory(customer=customer, date=dt.date(2025, 3, 1), amount=Decimal("120.00"))
    cost = CostEntryFactory(customer=customer)
    response = ResponseFactory(invitation__customer=customer, invitation__survey=SurveyFactory(), score=3)
    transactional = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    batch = import_records(
        kind="revenue",
        records=[{"customer": "FUZZ-1", "date": "2025-04-01", "amount": "5.00", "external_ref": "FUZZ-R"}],
        user=admin,
    )
    SEEDED.update({
        "/api/customers/{id}/": {"id": customer.pk},
        "/api/reason-categories/{slug}/": {"slug": "recommendation"},
        "/api/revenue/{id}/": {"id": revenue.pk},
        "/api/costs/{id}/": {"id": cost.pk},
        "/api/imports/{id}/": {"id": batch.pk},
        "/api/surveys/{id}/": {"id": transactional.pk},
        "/api/invitations/{id}/": {"id": response.invitation_id},
        "/api/responses/{id}/": {"id": response.pk},
    })
    yield admin
    SEEDED.clear()


def credentials(admin, operation) -> dict[str, str]:
    if operation.path == "/api/auth/login/":  # the login takes HTTP Basic and gives a token
        basic = base64.b64encode(f"{admin.username}:{PASSWORD}".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    _, token = AuthToken.objects.create(admin)  # a fresh one each call: the logout revokes it
    return {"Authorization": f"Token {token}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("SCHEMATHESIS_RANDOM"),
    database=None,
    # One operation's examples share the seeded data (their writes pile up until the test's rollback,
    # as a real API's would) and each call makes its own token.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_conforms_to_the_schema(case, seeded):
    # The client's address, as a real server gives it: the token login counts attempts per address.
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    case.call_and_validate(headers=credentials(seeded, case.operation), checks=CHECKS, environ_base=environ)


# --- The schema itself ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_fuzzed_schema_is_the_one_a_token_gets(api_client_as):
    response = api_client_as("viewer").get(SCHEMA_URL, {"format": "json"})

    assert response.status_code == 200
    assert response.json() == DOCUMENT


def test_the_schema_is_valid_openapi():
    validate_schema(SchemaGenerator().get_schema(request=None, public=True))


def test_every_operation_documents_401_and_403():
    document = SchemaGenerator().get_schema(request=None, public=True)
    missing = {
        f"{method.upper()} {path}": sorted({"401", "403"} - set(map(str, operation["responses"])))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not {"401", "403"} <= set(map(str, operation["responses"]))
    }

    assert missing == {}


# --- What the fuzzing found, pinned (PostgreSQL refuses NUL characters in text) -------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/revenue/", "/api/customers/bulk/"])
def test_a_bulk_row_with_a_nul_character_is_rejected_not_a_server_error(api_client_as, url):
    row = {"customer": "C\x00", "external_id": "C\x00", "date": "2025-01-01", "amount": "1", "external_ref": "x"}
    row["\x00"] = "unknown column"

    response = api_client_as("admin").post(url, [row], format="json")

    assert response.status_code == 400
    assert "contains a NUL character" in {error["message"] for error in response.json()["errors"]}


@pytest.mark.django_db
def test_a_nul_character_in_a_slug_or_a_search_is_a_client_error(api_client_as):
    api = api_client_as("admin")
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)

    trigger = api.post("/api/invitations/", {"survey": survey.pk, "customer": "C\x00", "touchpoint": "t"})
    lookup = api.get("/api/reason-categories/%00/")
    search = api.get("/api/customers/", {"search": "a\x00"})

    assert (trigger.status_code, set(trigger.json())) == (400, {"customer"})
    assert (lookup.status_code, lookup.json()) == (404, {"detail": "Not found."})
    assert (search.status_code, set(search.json())) == (400, {"search"})


def test_an_api_path_no_route_matches_is_a_json_404(client):
    api = client.get("/api/customers/1.5/")
    page = client.get("/no-such-page/")

    assert (api.status_code, api["Content-Type"], api.json()) == (404, "application/json", {"detail": "Not found."})
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
