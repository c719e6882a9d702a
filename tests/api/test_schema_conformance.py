"""Every API response as `/api/schema/` documents it, as a client generated from the schema sees it.

Bodies are validated with jsonschema against the documented schema, strictly: an object takes no key
its schema leaves out. tests/api/test_schemathesis.py fuzzes inputs; these go through seeded rows of
every shape (a rejected import, an anonymous survey, a customer without a reason, …) and every error."""

import base64
import copy
import re
from decimal import Decimal

import jsonschema
import pytest
from rest_framework.test import APIClient

from surveys.models import InvitationState, SuppressionReason, SurveyKind
from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    SurveyFactory,
    pay,
    reason,
)

pytestmark = pytest.mark.django_db

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
LISTS = [
    "/api/customers/", "/api/reason-categories/", "/api/revenue/", "/api/costs/", "/api/imports/",
    "/api/surveys/", "/api/invitations/", "/api/responses/",
]
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _date_time(value):
    return not isinstance(value, str) or bool(DATE_TIME.match(value))


@FORMATS.checks("uri")
def _uri(value):
    return not isinstance(value, str) or bool(re.match(r"^[a-z][a-z0-9+.-]*://", value))


@FORMATS.checks("decimal")
def _decimal(value):
    return not isinstance(value, str) or bool(re.fullmatch(r"-?\d+(\.\d+)?", value))


def _to_json_schema(node):
    """OpenAPI 3.0 -> JSON Schema: `nullable`, and no undocumented keys in an object."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def validate(document, path, method, response):
    """Fail unless `response`'s status is documented for the operation and its body matches."""
    code, body = response.status_code, response.json() if response.content else None
    documented = document["paths"][path][method]["responses"].get(str(code))
    assert documented is not None, f"{method.upper()} {path}: status {code} is not documented"
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    assert schema is not None or body is None, f"{method.upper()} {path} {code}: no body documented"
    if schema is None:
        return
    defs = {k: _to_json_schema(v) for k, v in document["components"]["schemas"].items()}
    full = {**_to_json_schema(copy.deepcopy(schema)), "$defs": defs}
    errors = sorted(jsonschema.Draft202012Validator(full, format_checker=FORMATS).iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path} {code}: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:10]
    )


@pytest.fixture
def document(api_client_as):
    response = api_client_as("viewer").get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def check(document):
    """`check(path, method, response)`; the mismatches gathered in `check.problems`, to see them all at once."""

    def check(path, method, response):
        try:
            validate(document, path, method, response)
        except AssertionError as exc:
            check.problems.append(str(exc))

    check.problems = []
    return check


@pytest.fixture
def api(api_client_as):
    return api_client_as("admin")


@pytest.fixture
def seeded(admin):
    """One of everything, through the API's own doors where it has one."""
    top = CustomerFactory(external_id="TOP", reason=reason("recommendation"), acquisition_cost=Decimal("12.50"))
    CustomerFactory(external_id="KID", parent=top, reason=reason("other"), reason_text="a podcast", language="de")
    CustomerFactory(external_id="NOREASON", email="", acquired_on=None)
    pay(top, "2024-03-01", "100.00")
    pay(top, "2025-03-01", "130.00")
    CostEntryFactory(customer=top)
    named = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, owner=admin)
    anonymous = SurveyFactory(anonymous=True, name="Anon")
    ResponseFactory(invitation__survey=named, invitation__customer=top, invitation__touchpoint="checkout", score=3)
    ResponseFactory(invitation__survey=anonymous, invitation__customer=top, score=10)
    InvitationFactory(
        survey=named, state=InvitationState.SUPPRESSED, suppression_reason=SuppressionReason.NO_EMAIL, sent_at=None
    )
    InvitationFactory(survey=named, state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    return {"top": top, "named": named, "anonymous": anonymous}


def test_every_list_and_detail_matches_its_schema_strictly(api, check, seeded):
    # A bulk import of each kind, one rejected, so that imports/ has rows of both shapes.
    line = {"customer": "TOP", "date": "2025-04-01", "amount": "5", "external_ref": "A1"}
    assert api.post("/api/revenue/", [line], format="json").status_code == 201
    bad = {"customer": "NOPE", "date": "2025-04-31", "amount": "x", "external_ref": "B"}
    rejected = api.post("/api/costs/", [bad], format="json")
    assert rejected.status_code == 400
    check("/api/costs/", "post", rejected)
    for url in LISTS:
        page = api.get(url)
        check(url, "get", page)
        key = "slug" if "reason-categories" in url else "id"
        for row in page.json()["results"]:
            check(f"{url}{{{key}}}/", "get", api.get(f"{url}{row[key]}/"))
    assert check.problems == [], "\n".join(check.problems)


def test_writes_match_their_schema(api, check, seeded):
    check("/api/customers/", "post",
          api.post("/api/customers/", {"external_id": "NEW", "reason": "other", "reason_text": "radio"}, format="json"))
    new = api.get("/api/customers/", {"external_id": "NEW"}).json()["results"][0]["id"]
    check("/api/customers/{id}/", "patch", api.patch(f"/api/customers/{new}/", {"segment": "ENT"}, format="json"))
    check("/api/customers/{id}/reason/", "post",
          api.post(f"/api/customers/{new}/reason/", {"reason": "advertising"}, format="json"))
    check("/api/customers/", "post", api.post("/api/customers/", {"external_id": "NEW"}, format="json"))
    for batch in ([{"external_id": "B1", "name": "x"}], [{"external_id": "", "bogus": 1}]):
        check("/api/customers/bulk/", "post", api.post("/api/customers/bulk/", batch, format="json"))
    check("/api/customers/bulk/", "post",
          api.post("/api/customers/bulk/", "a=b", content_type="application/x-www-form-urlencoded"))
    category = {"slug": "events", "label": "Events", "kind": "bought"}
    check("/api/reason-categories/", "post", api.post("/api/reason-categories/", category, format="json"))
    check("/api/reason-categories/{slug}/", "put",
          api.put("/api/reason-categories/events/", {**category, "label": "Fairs"}, format="json"))
    created = api.post("/api/surveys/", {"name": "Rel", "kind": "relationship"}, format="json")
    check("/api/surveys/", "post", created)
    survey = f"/api/surveys/{created.json()['id']}/"
    check("/api/surveys/{id}/", "patch", api.patch(survey, {"reminder_days": 3}, format="json"))
    check("/api/surveys/{id}/launch/", "post", api.post(f"{survey}launch/", {}, format="json"))
    check("/api/surveys/{id}/retry-failed/", "post", api.post(f"{survey}retry-failed/", {}, format="json"))
    check("/api/surveys/{id}/", "delete", api.delete(survey))
    trigger = {"survey": seeded["named"].pk, "customer": "TOP", "touchpoint": "checkout", "reference": "O-1"}
    check("/api/invitations/", "post", api.post("/api/invitations/", trigger, format="json"))
    check("/api/invitations/", "post", api.post("/api/invitations/", trigger, format="json"))  # the same again
    answer = api.get("/api/responses/").json()["results"][0]["id"]
    check("/api/responses/{id}/", "patch",
          api.patch(f"/api/responses/{answer}/", {"follow_up_note": "called"}, format="json"))
    assert check.problems == [], "\n".join(check.problems)


def test_reports_and_errors_match_their_schema(api, check, seeded, api_client_as):
    for period in ("2025", "2025-Q1", "2031", "x"):
        check("/api/reports/earned-growth/", "get", api.get("/api/reports/earned-growth/", {"period": period}))
        check("/api/reports/nps/", "get", api.get("/api/reports/nps/", {"period": period}))
    check("/api/reports/nps/", "get",
          api.get("/api/reports/nps/", {"period": "2025", "survey": seeded["named"].pk, "touchpoint": "checkout"}))
    check("/api/customers/", "get", api_client_as(None).get("/api/customers/"))
    check("/api/customers/", "get", api_client_as("viewer").get("/api/customers/"))
    check("/api/customers/{id}/", "get", api.get("/api/customers/999999/"))
    check("/api/reports/nps/", "get", api_client_as(None).get("/api/reports/nps/", {"period": "2025"}))
    check("/api/reports/nps/", "get", api_client_as("analyst").get("/api/reports/nps/", {"period": "2025"}))
    assert check.problems == [], "\n".join(check.problems)


def test_import_errors_login_and_logout_match_their_schema(api, check, admin):
    line = {"customer": "NOPE", "date": "x", "amount": "1", "external_ref": "E"}
    rejected = api.post("/api/revenue/", [line], format="json").json()["id"]
    check("/api/imports/{id}/errors/", "get", api.get(f"/api/imports/{rejected}/errors/"))
    check("/api/imports/{id}/", "get", api.get(f"/api/imports/{rejected}/"))
    basic = base64.b64encode(b"alice:correct horse battery staple").decode()
    client = APIClient(REMOTE_ADDR="127.0.0.1")
    login = client.post("/api/auth/login/", HTTP_AUTHORIZATION=f"Basic {basic}")
    check("/api/auth/login/", "post", login)
    client.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    check("/api/auth/logout/", "post", client.post("/api/auth/logout/"))
    assert check.problems == [], "\n".join(check.problems)
