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
    response = api_client_as(None).get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/customers/", "/api/customers/bulk/", "/api/revenue/", "/api/costs/"} <= set(paths)


def test_the_docs_page_serves_swagger_ui_from_our_static_files(client):
    response = client.get(reverse("api-docs"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn." not in html and "unpkg" not in html


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
