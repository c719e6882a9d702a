"""Reporting periods: parsing, and the prior / year-over-year period of SPEC §3."""

import datetime as dt

import pytest

from reports.periods import MONTH, QUARTER, YEAR, last_periods, parse_period

D = dt.date


@pytest.mark.parametrize(
    ("text", "start", "end", "kind"),
    [
        ("2025", D(2025, 1, 1), D(2025, 12, 31), YEAR),
        ("2025-Q1", D(2025, 1, 1), D(2025, 3, 31), QUARTER),
        ("2025-q3", D(2025, 7, 1), D(2025, 9, 30), QUARTER),
        ("2025-Q4", D(2025, 10, 1), D(2025, 12, 31), QUARTER),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29), MONTH),
        ("2025-02", D(2025, 2, 1), D(2025, 2, 28), MONTH),
        (" 2025-12 ", D(2025, 12, 1), D(2025, 12, 31), MONTH),
    ],
)
def test_it_parses_years_quarters_and_months(text, start, end, kind):
    period = parse_period(text)

    assert (period.start, period.end, period.kind) == (start, end, kind)


@pytest.mark.parametrize("text", ["2025-Q3", "2025-07", "2025"])
def test_it_prints_a_period_as_it_is_written(text):
    assert str(parse_period(text)) == text


@pytest.mark.parametrize(
    "text", ["", "25", "20255", "2025-Q0", "2025-Q5", "2025-00", "2025-13", "2025-7", "2025/07", "Q3-2025", "2025-H1"]
)
def test_it_rejects_anything_else_saying_what_it_expects(text):
    with pytest.raises(ValueError, match=r"use a year \(2025\), a quarter \(2025-Q3\) or a month \(2025-07\)"):
        parse_period(text)


def test_it_rejects_none():
    with pytest.raises(ValueError, match="is not a period"):
        parse_period(None)


@pytest.mark.parametrize(
    ("text", "prior", "yoy"),
    [
        ("2025", "2024", "2024"),
        ("2025-Q3", "2025-Q2", "2024-Q3"),
        ("2025-Q1", "2024-Q4", "2024-Q1"),
        ("2025-07", "2025-06", "2024-07"),
        ("2025-01", "2024-12", "2024-01"),
        ("2024-03", "2024-02", "2023-03"),
    ],
)
def test_the_prior_period_has_the_same_length_and_yoy_is_a_year_earlier(text, prior, yoy):
    period = parse_period(text)

    assert str(period.prior()) == prior and str(period.prior("prior")) == prior
    assert str(period.prior("yoy")) == yoy
    assert period.prior().kind == period.prior("yoy").kind == period.kind


def test_the_prior_month_of_march_in_a_leap_year_ends_on_the_29th():
    assert parse_period("2024-03").prior().end == D(2024, 2, 29)
    assert parse_period("2025-03").prior().end == D(2025, 2, 28)


def test_the_prior_period_ends_the_day_before_the_period_starts():
    for text in ("2025", "2025-Q1", "2025-Q3", "2025-01", "2025-03"):
        period = parse_period(text)
        assert period.prior().end == period.start - dt.timedelta(days=1)


def test_it_rejects_an_unknown_comparison():
    with pytest.raises(ValueError, match="compare must be 'prior' or 'yoy'"):
        parse_period("2025").prior("last-year")


def test_next_is_the_inverse_of_prior():
    for text in ("2025", "2025-Q1", "2025-12"):
        period = parse_period(text)
        assert period.prior().next() == period


def test_last_periods_end_with_the_one_containing_the_day_oldest_first():
    quarters = last_periods(QUARTER, 8, D(2025, 8, 15))

    assert [str(q) for q in quarters] == [
        "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3",
    ]
    assert [str(y) for y in last_periods(YEAR, 3, D(2025, 1, 1))] == ["2023", "2024", "2025"]
