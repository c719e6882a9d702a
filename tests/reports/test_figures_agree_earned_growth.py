"""One earned-growth question answered on every door (dashboard CSVs, API, command, customer
pages) gives one number: entities, a parent in another segment, a credit note, 31 December."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from accounting.models import Customer
from accounting.selectors import entity_ledger_by_year
from tests.factories import CostEntryFactory, CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(settings):
    settings.TIME_ZONE = "Europe/Paris"
    parent = CustomerFactory(external_id="P", segment="Enterprise", reason=reason("recommendation"),
                             acquired_on=dt.date(2023, 3, 1))
    child = CustomerFactory(external_id="PC", segment="SMB", parent=parent, acquired_on=dt.date(2024, 2, 1))
    a = CustomerFactory(external_id="A", segment="SMB", reason=reason("advertising"), acquired_on=dt.date(2024, 1, 5))
    b = CustomerFactory(external_id="B", segment="Mid", reason=reason("reputation"), acquired_on=dt.date(2025, 2, 1))
    d = CustomerFactory(external_id="D", segment="Mid", acquired_on=dt.date(2025, 6, 1))
    e = CustomerFactory(external_id="E", segment="SMB", reason=reason("promotion"), acquired_on=dt.date(2023, 1, 1))
    lines = [
        (parent, "2024-03-01", "100.00"), (child, "2024-12-31", "50.00"), (parent, "2025-01-01", "80.00"),
        (child, "2025-07-01", "90.00"), (a, "2024-05-01", "60.00"), (a, "2025-05-01", "30.00"),
        (a, "2025-06-01", "-40.00"), (b, "2025-03-01", "25.00"), (d, "2025-12-31", "20.00"),
        (e, "2023-05-01", "70.00"), (e, "2025-08-01", "15.00"),
    ]
    for customer, day, amount in lines:
        pay(customer, day, amount)
    CostEntryFactory(customer=a, date=dt.date(2025, 1, 2))
    return [parent, child, a, b, d, e]


def _csv(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC))
@pytest.mark.parametrize("query", ["", "grain=customer", "compare=yoy", "segment=SMB", "segment=SMB&grain=customer"])
def test_earned_growth_agrees_across_doors(ledger, client, admin, api_client_as, django_capture_on_commit_callbacks,
                                           query):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/reports/earned-growth/?period=2025&{query}")
    api = api_client_as("analyst").get(f"/api/reports/earned-growth/?period=2025&{query}").json()
    options = [pair.split("=") for pair in query.split("&") if pair]
    args = ["2025", "--json"] + [part for name, value in options for part in (f"--{name}", value)]
    out = StringIO()
    call_command("earned_growth", *args, stdout=out)
    assert json.loads(out.getvalue()) == api
    page = f"/reports/earned-growth/?period=2025&{query}&format=csv"
    bridge = {row["step"]: row["amount"] for row in _csv(client.get(f"{page}&table=bridge"))}
    assert bridge["Revenue 2025"] == api["revenue"] and bridge["Revenue 2024"] == api["prior_revenue"]
    trend = _csv(client.get(f"{page}&table=trend"))[-1]
    rates = ("nrr", "enc", "earned_growth_rate")
    assert [trend[rate] for rate in rates] == [api[rate] for rate in rates]


def test_customer_pages_sum_to_the_year_revenue(ledger, client, admin, api_client_as):
    client.force_login(admin)
    api = api_client_as("analyst").get("/api/reports/earned-growth/?period=2025").json()
    pages = sum((y.revenue for cu in Customer.objects.all()
                 for y in client.get(f"/customers/{cu.pk}/").context["ledger"].years if y.year == 2025), Decimal(0))
    entities = sum((y.revenue for cu in Customer.objects.filter(parent=None)
                    for y in entity_ledger_by_year(cu).years if y.year == 2025), Decimal(0))
    assert pages == entities == Decimal(api["revenue"])
