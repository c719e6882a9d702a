"""A reason request is named by the day it was made in the company's zone, as the admin shows its
times: with TIME_ZONE=Europe/Paris, one made at 00:30 on 1 April is not named by 31 March (UTC)."""

import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings
from django.utils import timezone

from accounting.models import ReasonRequest
from tests.factories import CustomerFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def paris(db):
    with override_settings(TIME_ZONE="Europe/Paris"), timezone.override(PARIS):
        yield


def test_a_reason_request_is_named_by_the_day_it_was_made_in_the_companys_zone(paris):
    made = dt.datetime(2025, 4, 1, 0, 30, tzinfo=PARIS)  # 31 March 22:30 UTC
    ReasonRequest.objects.create(
        customer=CustomerFactory(name="Zoë"), token_hash="0" * 64, created_at=made,
        expires_at=made + dt.timedelta(days=31),
    )
    request = ReasonRequest.objects.get()  # as the admin reads it: the time comes back in UTC

    assert str(request).endswith("(2025-04-01)"), str(request)
