"""A bulk request over DATA_UPLOAD_MAX_MEMORY_SIZE (20 MB by default: some 200,000 revenue lines) got
Django's HTML "Bad Request (400)" page, which a client cannot parse, and an error with a traceback
in the log. It gets a JSON 413 naming the limit and telling to split the batch; nothing is written."""

import json
import logging

import pytest
from django.urls import reverse

from accounting.models import CostEntry, Customer, ImportBatch, RevenueEntry
from surveys.models import Invitation
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db

LIMIT = 10_000  # stands for the 20 MB default
LINE = {"customer": "A1", "date": "2025-01-05", "amount": "1.00"}
BULK = {
    "api-revenue-list": [{**LINE, "external_ref": f"r{i}"} for i in range(500)],
    "api-cost-list": [{**LINE, "external_ref": f"c{i}", "kind": "serve"} for i in range(500)],
    "api-customer-bulk": [
        {"external_id": f"N{i}", "name": f"Name {i}", "acquired_on": "2025-01-05"} for i in range(500)
    ],
}


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


@pytest.mark.parametrize("route", BULK)
def test_a_bulk_body_over_the_limit_gets_a_json_413(route, small_limit, api_client_as, caplog):
    CustomerFactory(external_id="A1")
    body = json.dumps(BULK[route])
    assert len(body) > LIMIT

    response = api_client_as("analyst").post(reverse(route), data=body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    detail = response.json()["detail"]
    assert f"{LIMIT} bytes" in detail and "Split the batch" in detail
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not ImportBatch.objects.exists()
    assert (RevenueEntry.objects.count(), CostEntry.objects.count(), Customer.objects.count()) == (0, 0, 1)


def test_a_bulk_body_within_the_limit_is_imported(small_limit, api_client_as):
    CustomerFactory(external_id="A1")
    body = json.dumps(BULK["api-revenue-list"][:50])
    assert len(body) < LIMIT

    response = api_client_as("analyst").post(
        reverse("api-revenue-list"), data=body, content_type="application/json"
    )

    assert response.status_code == 201
    assert RevenueEntry.objects.count() == 50


def test_other_api_errors_keep_drfs_answers(api_client_as):
    assert api_client_as(None).get(reverse("api-revenue-list")).status_code == 401
    response = api_client_as("analyst").post(
        reverse("api-revenue-list"), data="[", content_type="application/json"
    )
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize("route", BULK)
def test_a_bulk_request_of_too_many_records_gets_a_json_413(route, api_client_as, monkeypatch):
    """The body limit alone let ~7 M empty records (`[{},{},…]`) through, each shaped and checked:
    2.3 GB and two minutes of a web worker. A bulk request holds at most BULK_MAX_RECORDS."""
    monkeypatch.setattr("accounting.apis.BULK_MAX_RECORDS", 20)
    CustomerFactory(external_id="A1")

    response = api_client_as("analyst").post(reverse(route), data=[{}] * 21, format="json")

    assert response.status_code == 413
    assert "more than the limit of 20" in response.json()["detail"]
    assert not ImportBatch.objects.exists()
    assert (RevenueEntry.objects.count(), CostEntry.objects.count(), Customer.objects.count()) == (0, 0, 1)

    at_the_limit = api_client_as("analyst").post(reverse(route), data=BULK[route][:20], format="json")
    assert at_the_limit.status_code == 201



@pytest.fixture
def five_fields(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    return {f"f{i}": "x" for i in range(6)}


def _refused_as_json(response, caplog):
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["detail"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_form_of_too_many_fields_gets_a_json_400(five_fields, api_client_as, caplog):
    """Over DATA_UPLOAD_MAX_NUMBER_FIELDS Django's TooManyFieldsSent got its HTML "Bad Request" page
    too, with an error in the log."""
    survey = SurveyFactory()
    url = reverse("api-survey-invite", args=[survey.pk])

    _refused_as_json(api_client_as("admin").post(url, five_fields, format="multipart"), caplog)
    assert not Invitation.objects.exists()


def test_a_query_string_of_too_many_fields_gets_a_json_400(five_fields, api_client_as, caplog):
    _refused_as_json(api_client_as("analyst").get(reverse("api-customer-list"), five_fields), caplog)
