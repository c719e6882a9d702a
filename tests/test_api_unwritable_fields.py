"""Every single-object write of the API refuses a field it would not store, naming it, rather than
dropping it silently (a typo lost its value behind a 201). The bulk endpoints refuse unknown columns
their own way (tests/accounting/test_api_*.py)."""

import pytest
from auditlog.models import LogEntry
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import Customer
from surveys.models import Invitation, Launch
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

UNKNOWN, READ_ONLY = ["Unknown field."], ["Read-only field."]

# (method, url, valid body, added field, its error); {customer}, {survey}... are filled in.
WRITES = [
    ("post", "/api/customers/", {"external_id": "N1"}, {"acquisiton_cost": "150.00"}, UNKNOWN),
    ("post", "/api/customers/", {"external_id": "N1"}, {"reason_class": "earned"}, READ_ONLY),
    ("patch", "/api/customers/{customer}/", {"name": "New"}, {"entity": "C1"}, READ_ONLY),
    ("post", "/api/customers/{customer}/reason/", {"reason": "advertising"}, {"reasn_text": "tv"}, UNKNOWN),
    ("post", "/api/reason-categories/", {"slug": "new", "label": "New", "kind": "earned"}, {"colour": "red"},
     UNKNOWN),
    ("patch", "/api/reason-categories/advertising/", {"label": "Ads"}, {"id": 99}, READ_ONLY),
    ("post", "/api/surveys/", {"name": "New"}, {"owner": "bob"}, READ_ONLY),
    ("patch", "/api/surveys/{survey}/", {"name": "New"}, {"imported": True}, READ_ONLY),
    ("put", "/api/surveys/{survey}/", {"name": "New"}, {"progress": {}}, READ_ONLY),
    ("post", "/api/surveys/{survey}/launch/", {}, {"segmnt": "SMB"}, UNKNOWN),
    ("post", "/api/surveys/{survey}/retry-failed/", {}, {"include_interupted": True}, UNKNOWN),
    ("post", "/api/invitations/", {"survey": "{transactional}", "customer": "C1", "touchpoint": "web"},
     {"delay": 5}, UNKNOWN),
    ("patch", "/api/responses/{response}/", {"follow_up_note": "Called"}, {"score": 10}, READ_ONLY),
]


@pytest.fixture
def api(admin):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(admin)[1]}")
    return client


@pytest.fixture
def ids():
    return {
        "customer": CustomerFactory(external_id="C1").pk,
        "survey": SurveyFactory(name="Pulse").pk,
        "transactional": SurveyFactory(name="After delivery", kind="transactional").pk,
        "response": ResponseFactory().pk,
    }


def _filled(value, ids):
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize(("method", "url", "body", "extra", "error"), WRITES)
def test_a_write_with_a_field_it_would_not_store_is_refused_naming_it(api, ids, method, url, body, extra, error):
    body = {key: _filled(value, ids) for key, value in body.items()}
    counts = (Customer.objects.count(), Invitation.objects.count(), Launch.objects.count(), LogEntry.objects.count())

    response = getattr(api, method)(url.format(**ids), {**body, **extra}, format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {name: error for name in extra}
    assert (Customer.objects.count(), Invitation.objects.count(), Launch.objects.count(),
            LogEntry.objects.count()) == counts


@pytest.mark.parametrize(("method", "url", "body", "extra", "error"), [w for w in WRITES if w[0] != "put"])
def test_the_same_write_without_that_field_is_accepted(api, ids, method, url, body, extra, error):
    body = {key: _filled(value, ids) for key, value in body.items()}

    response = getattr(api, method)(url.format(**ids), body, format="json")

    assert response.status_code in (200, 201), response.content


def test_the_csrf_token_of_a_browsable_api_form_is_no_unknown_field(analyst):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(analyst)
    token = client.get("/api/customers/", HTTP_ACCEPT="text/html").cookies["csrftoken"].value

    response = client.post("/api/customers/", {"external_id": "N1", "csrfmiddlewaretoken": token})

    assert response.status_code == 201, response.content
    assert Customer.objects.filter(external_id="N1").exists()
