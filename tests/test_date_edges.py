"""The product's period, window and expiry arithmetic on awkward days.

Guards, pinned with time_machine (the project's tool): new year, leap day, a quarter's last
minute, and a daylight-saving change in a non-UTC TIME_ZONE. A test that passes only on the day it
runs would make CI red on some other day.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounting.services import reason_link_expiry
from reports.periods import last_periods, parse_period, period_containing
from reports.selectors import DashboardParams, default_period, filled_on_view
from surveys.launch import throttle_start
from surveys.sending import days_later

UTC = dt.UTC


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (dt.datetime(2027, 1, 1, 0, 5, tzinfo=UTC), "2026-Q4"),
        (dt.datetime(2027, 3, 31, 23, 59, tzinfo=UTC), "2026-Q4"),
        (dt.datetime(2027, 4, 1, 0, 0, tzinfo=UTC), "2027-Q1"),
        (dt.datetime(2028, 2, 29, 12, tzinfo=UTC), "2027-Q4"),
        (dt.datetime(2027, 12, 31, 23, 50, tzinfo=UTC), "2027-Q3"),
    ],
)
def test_default_period_is_the_last_complete_quarter_on_edge_days(moment, expected):
    with time_machine.travel(moment, tick=False):
        assert str(default_period()) == expected


def test_default_period_follows_the_company_day_not_utc(settings):
    """23:30 UTC on 31 March is already 1 April in Berlin: Q1 is complete there."""
    settings.TIME_ZONE = "Europe/Berlin"
    with time_machine.travel(dt.datetime(2027, 3, 31, 23, 30, tzinfo=UTC), tick=False):
        assert str(default_period()) == "2027-Q1"


@pytest.mark.parametrize("moment", [dt.datetime(2027, 1, 1, 0, 5, tzinfo=UTC), dt.datetime(2028, 2, 29, tzinfo=UTC)])
@pytest.mark.parametrize("compare", ["prior", "yoy"])
def test_the_default_pages_periods_are_all_filled_on_view_on_edge_days(moment, compare):
    """The default trend (8 quarters) and its comparison are computed by a page view on 1 January too."""
    with time_machine.travel(moment, tick=False):
        params = DashboardParams(period=default_period(), compare=compare, grain="entity")
        assert all(filled_on_view(period) for period in params.periods)


def test_leap_day_periods():
    assert str(period_containing(dt.date(2028, 2, 29), "month")) == "2028-02"
    assert parse_period("2028-02").end == dt.date(2028, 2, 29)
    assert parse_period("2027-02").end == dt.date(2027, 2, 28)
    assert [str(p) for p in last_periods("month", 3, dt.date(2028, 2, 29))] == ["2027-12", "2028-01", "2028-02"]


@pytest.mark.parametrize(
    ("moment", "last_day"),
    [
        (dt.datetime(2027, 12, 31, 23, 50, tzinfo=UTC), dt.date(2028, 1, 30)),
        (dt.datetime(2028, 1, 30, 12, tzinfo=UTC), dt.date(2028, 2, 29)),
    ],
)
def test_reason_link_expiry_counts_calendar_days_over_new_year_and_leap_day(settings, moment, last_day):
    settings.REASON_LINK_VALID_DAYS = 30
    expires = reason_link_expiry(moment)
    assert expires == dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=UTC)


def test_throttle_window_over_leap_day():
    now = dt.datetime(2028, 3, 1, 8, tzinfo=UTC)
    assert throttle_start(1, now) == dt.datetime(2028, 3, 1, tzinfo=UTC)
    assert throttle_start(2, now) == dt.datetime(2028, 2, 29, tzinfo=UTC)
    assert throttle_start(366, now) == dt.datetime(2027, 3, 2, tzinfo=UTC)


def test_days_later_keeps_the_wall_clock_over_the_spring_change(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    with timezone.override(berlin):
        sent = dt.datetime(2027, 3, 27, 10, tzinfo=berlin)  # CET
        later = days_later(sent, 1)
        assert timezone.localtime(later, berlin).replace(tzinfo=None) == dt.datetime(2027, 3, 28, 10)
        # Subtracting two times of the same zone ignores their offsets: compare in UTC.
        assert later.astimezone(UTC) - sent.astimezone(UTC) == dt.timedelta(hours=23)
