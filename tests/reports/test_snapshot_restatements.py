"""A restatement is a recompute after a category changed class (SPEC §2), nothing else: new answers
and parents make a snapshot stale, and their recompute keeps the last restatement as it was."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounting.models import Customer
from accounting.services import customers_refresh_entities
from reports.snapshots import snapshot_is_stale, snapshot_request
from tests.factories import CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_snapshot(company_a, django_capture_on_commit_callbacks):
    def make():
        with django_capture_on_commit_callbacks(execute=True):  # eager Celery: computed on commit
            snapshot = snapshot_request(period="2025")
        snapshot.refresh_from_db()
        return snapshot

    return make


def reclass(slug, kind):
    category = reason(slug)
    category.kind = kind
    category.save()


def test_a_new_customer_answering_makes_it_stale_but_restates_nothing(request_snapshot):
    first = request_snapshot()
    pay(CustomerFactory(reason=reason("recommendation")), "2025-12-01", "10.00")
    assert snapshot_is_stale(first)

    again = request_snapshot()

    assert again.figures != first.figures and not snapshot_is_stale(again)
    assert again.restated_from == {}


def test_a_parent_change_makes_it_stale_but_restates_nothing(request_snapshot):
    first = request_snapshot()
    child = CustomerFactory()
    child.parent = Customer.objects.order_by("id").first()
    child.save()
    customers_refresh_entities()
    assert snapshot_is_stale(first)

    again = request_snapshot()

    assert again.restated_from == {}


def test_an_ordinary_recompute_keeps_the_last_restatement(request_snapshot, client_as):
    first = request_snapshot()
    reclass("promotion", "earned")
    restated = request_snapshot()
    assert D(restated.restated_from["figures"]["earned_growth_rate"]) == D("0.10")

    pay(CustomerFactory(reason=reason("recommendation")), "2025-12-01", "10.00")  # an ordinary day
    again = request_snapshot()

    assert again.computed_at > restated.computed_at
    assert again.restated_from == restated.restated_from
    assert again.restated_from["fingerprint"]["classification"]["promotion"] == "bought"
    assert again.restated_from["computed_at"] == first.computed_at.isoformat()
    page = client_as("viewer").get(reverse("reports:earned-growth"), {"period": "2025"}).content.decode()
    assert "after the reason classification changed (promotion)" in page
    assert "the earned growth rate was 10.0%" in page


def test_a_second_reclassification_replaces_the_restatement(request_snapshot):
    request_snapshot()
    reclass("promotion", "earned")
    first_restatement = request_snapshot()
    reclass("advertising", "earned")

    second = request_snapshot()

    assert second.restated_from["computed_at"] == first_restatement.computed_at.isoformat()
    assert second.restated_from["fingerprint"]["classification"]["advertising"] == "bought"
    assert second.restated_from["fingerprint"]["classification"]["promotion"] == "earned"


def test_an_edit_that_changes_no_class_makes_it_stale_but_restates_nothing(request_snapshot):
    first = request_snapshot()
    category = reason("promotion")
    category.label = "Promotions and discounts"
    category.save()
    assert snapshot_is_stale(first)

    assert request_snapshot().restated_from == {}


def test_the_dashboard_dates_a_restatement_by_the_company_day(request_snapshot, client_as):
    """The snapshot stores UTC times; 09:00 on 2 March in Auckland is still 1 March in UTC."""
    with override_settings(TIME_ZONE="Pacific/Auckland"), timezone.override("Pacific/Auckland"):
        with time_machine.travel(dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC), tick=False):
            request_snapshot()
        with time_machine.travel(dt.datetime(2026, 3, 1, 20, 5, tzinfo=dt.UTC), tick=False):
            reclass("promotion", "earned")
            request_snapshot()
            page = client_as("viewer").get(reverse("reports:earned-growth"), {"period": "2025"})
    html = page.content.decode()
    assert "Restated 2026-03-02" in html
    assert "(figures of 2026-03-02)" in html
