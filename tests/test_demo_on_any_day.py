"""The demo loaded on any day of the calendar (found by an audit of dates).

README: the demo "fills both dashboards: NPS and Earned growth", and the NPS dashboard opens on the
last complete quarter (reports.selectors.default_period). The demo's ledger ends last month.
"""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounting.models import Customer
from reports.nps import nps_report
from reports.selectors import default_period

pytestmark = pytest.mark.django_db


QUARTERS_FIRST_MONTHS = [dt.datetime(2027, 1, 10, 12, tzinfo=dt.UTC), dt.datetime(2027, 4, 2, 12, tzinfo=dt.UTC)]


@pytest.mark.parametrize("today", QUARTERS_FIRST_MONTHS)
def test_the_demo_loaded_in_a_quarters_first_month_has_answers_in_the_quarter_the_nps_dashboard_opens_on(today):
    """Loaded in January (April, July, October) the ledger ends with a complete quarter, which is the
    one the NPS dashboard opens on; the demo surveys every quarter but the ledger's last, so that
    quarter has no answer at all and the dashboard a new user meets is empty."""
    with time_machine.travel(today, tick=True):
        call_command("demo", stdout=StringIO(), customers=400, seed=3, no_users=True)

        opened_on = default_period()
        assert nps_report(period=opened_on).as_json()["responses"] > 0, f"no answer in {opened_on}"


@time_machine.travel(dt.datetime(2027, 3, 1, 0, 30, tzinfo=dt.UTC), tick=True)
def test_the_demo_never_dates_a_customers_reason_answer_in_the_future():
    """Loaded early in a month, customers acquired late in the ledger's last month 'answered' why
    they chose the company up to 14 days after their acquisition: days after today."""
    call_command("demo", stdout=StringIO(), customers=1000, seed=3, no_users=True)

    in_the_future = Customer.objects.filter(reason_answered_at__gt=timezone.now())
    assert list(in_the_future.values_list("external_id", "acquired_on", "reason_answered_at")) == []
