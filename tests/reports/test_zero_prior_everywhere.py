"""Zero and negative denominators in the command, API and dashboard."""
import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounting.models import RevenueEntry
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prior", [None, "-40.00", "0.00"])
def test_zero_or_negative_prior_gives_nulls_everywhere(prior, api_client_as, client_as):
    a = CustomerFactory(reason=reason("recommendation"))
    if prior is not None:
        RevenueEntry.objects.create(customer=a, date=dt.date(2024, 5, 1), amount=Decimal(prior), external_ref="z1")
    RevenueEntry.objects.create(customer=a, date=dt.date(2025, 5, 1), amount=Decimal("50.00"), external_ref="z2")
    out = StringIO()
    call_command("earned_growth", "2025", "--json", stdout=out)
    data = json.loads(out.getvalue())
    for key in ("nrr", "grr", "enc", "bnc", "unc", "earned_growth_rate", "total_growth_rate", "earned_growth_share"):
        assert data[key] is None
    assert data["notes"]
    out = StringIO()
    call_command("earned_growth", "2025", stdout=out)
    assert "n/a" in out.getvalue()
    response = api_client_as("viewer").get("/api/reports/earned-growth/", {"period": "2025"})
    assert response.status_code == 200 and response.json()["nrr"] is None
    page = client_as("viewer").get("/reports/earned-growth/", {"period": "2025"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Traceback" not in html
