"""The OpenAPI schema and its Swagger UI, served from local static files."""

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

ERRORS = {"400", "401", "403", "404"}
ACCOUNTING = (
    "/api/customers/", "/api/reason-categories/", "/api/revenue/", "/api/costs/", "/api/imports/",
)


def test_the_schema_endpoint_serves_the_openapi_document(api_client_as):
    response = api_client_as("viewer").get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/customers/", "/api/customers/bulk/", "/api/revenue/", "/api/costs/"} <= set(paths)


def test_the_schema_answers_401_to_anonymous_callers(api_client_as):
    response = api_client_as(None).get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_schema_lets_in_a_logged_in_browser(client_as):
    response = client_as("viewer").get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200 and "paths" in response.json()


def test_the_docs_page_serves_swagger_ui_from_our_static_files(client_as):
    response = client_as("viewer").get(reverse("api-docs"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html and "unpkg" not in html


def test_the_docs_page_sends_anonymous_browsers_to_the_login_page(client):
    response = client.get(reverse("api-docs"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('api-docs')}"


def test_the_docs_script_loads_for_a_logged_in_browser_only(client, client_as):
    anonymous = client.get(reverse("api-docs"), {"script": ""})
    logged_in = client_as("viewer").get(reverse("api-docs"), {"script": ""})

    assert anonymous.status_code == 401
    assert logged_in.status_code == 200
    assert logged_in["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in logged_in.content.decode()


def test_the_docs_page_lets_in_a_token(api_client_as):
    assert api_client_as("viewer").get(reverse("api-docs")).status_code == 200


def test_a_rejected_token_gets_401_not_the_login_page(client):
    response = client.get(reverse("api-docs"), HTTP_AUTHORIZATION="Token not-a-token")

    assert response.status_code == 401


def accounting_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        if not path.startswith(ACCOUNTING):
            continue
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_accounting_operation_documents_its_error_responses():
    missing = {}
    for name, operation in accounting_operations():
        if lacking := ERRORS - set(map(str, operation["responses"])):
            missing[name] = sorted(lacking)

    assert missing == {}


def test_every_write_documents_its_request_body():
    writes = {
        name: operation
        for name, operation in accounting_operations()
        if name.split()[0] in {"POST", "PUT", "PATCH"}
    }

    assert len(writes) == 9
    assert [name for name, operation in writes.items() if "requestBody" not in operation] == []


def test_bulk_endpoints_document_a_list_of_rows():
    ops = dict(accounting_operations())

    for name in ("POST /api/revenue/", "POST /api/costs/", "POST /api/customers/bulk/"):
        body = ops[name]["requestBody"]["content"]["application/json"]["schema"]
        assert body["type"] == "array", name


def test_bulk_endpoints_document_their_413_and_415_with_a_detail():
    ops = dict(accounting_operations())
    detail = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}

    for name in ("POST /api/revenue/", "POST /api/costs/", "POST /api/customers/bulk/"):
        responses = ops[name]["responses"]
        assert (responses["413"]["content"], responses["415"]["content"]) == (detail, detail), name


def test_writes_of_unique_values_document_the_409_of_a_simultaneous_write():
    ops = dict(accounting_operations())
    writes = [
        "POST /api/customers/", "PATCH /api/customers/{id}/", "POST /api/reason-categories/",
        "PUT /api/reason-categories/{slug}/", "PATCH /api/reason-categories/{slug}/",
    ]

    assert [name for name in writes if "content" not in ops[name]["responses"].get("409", {})] == []


def test_a_bulk_body_that_is_not_json_gets_the_documented_415(api_client_as):
    response = api_client_as("admin").post(reverse("api-revenue-list"), {"customer": "A1"})  # a form

    assert response.status_code == 415
    assert set(response.json()) == {"detail"}
