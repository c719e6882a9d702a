"""Reporting periods: a year `2025`, a quarter `2025-Q3` or a month `2025-07` (SPEC §3)."""

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils import timezone

YEAR, QUARTER, MONTH = "year", "quarter", "month"
_PATTERNS = (
    (re.compile(r"(\d{4})", re.ASCII), YEAR),
    (re.compile(r"(\d{4})-[Qq]([1-4])", re.ASCII), QUARTER),
    (re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII), MONTH),
)
PRIOR, YOY = "prior", "yoy"


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    kind: str

    def __str__(self) -> str:
        if self.kind == YEAR:
            return f"{self.start.year}"
        if self.kind == QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def months(self) -> int:
        return {YEAR: 12, QUARTER: 3, MONTH: 1}[self.kind]

    def shifted(self, months: int) -> "Period":
        year, month = divmod(self.start.year * 12 + self.start.month - 1 + months, 12)
        return _period(year, month + 1, self.kind)

    def prior(self, compare: str = PRIOR) -> "Period":
        """The previous period of the same length, or with `yoy` the same one a year earlier."""
        if compare == YOY:
            return self.shifted(-12)
        if compare != PRIOR:
            raise ValueError(f"compare must be '{PRIOR}' or '{YOY}', not {compare!r}")
        return self.shifted(-self.months)

    def next(self) -> "Period":
        return self.shifted(self.months)


def _period(year: int, month: int, kind: str) -> Period:
    length = {YEAR: 12, QUARTER: 3, MONTH: 1}[kind]
    end_year, end_month = divmod(year * 12 + month - 1 + length - 1, 12)
    end_month += 1
    last_day = calendar.monthrange(end_year, end_month)[1]
    return Period(dt.date(year, month, 1), dt.date(end_year, end_month, last_day), kind)


# Reports compare with earlier periods (a trend reaches years back) and read the next one: a
# year far inside the calendar's range keeps every such date valid.
MIN_YEAR, MAX_YEAR = 1900, 2999


def parse_period(text: str) -> Period:
    """`2025`, `2025-Q3` or `2025-07`; anything else raises ValueError saying what is expected."""
    value = (text or "").strip()
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(value)
        if match:
            year = int(match.group(1))
            if not MIN_YEAR <= year <= MAX_YEAR:
                raise ValueError(f"'{text}': the year must be from {MIN_YEAR} to {MAX_YEAR}")
            if kind == YEAR:
                return _period(year, 1, YEAR)
            if kind == QUARTER:
                return _period(year, (int(match.group(2)) - 1) * 3 + 1, QUARTER)
            return _period(year, int(match.group(2)), MONTH)
    raise ValueError(f"'{text}' is not a period: use a year (2025), a quarter (2025-Q3) or a month (2025-07)")


def period_containing(day: dt.date, kind: str) -> Period:
    if kind == YEAR:
        return _period(day.year, 1, YEAR)
    if kind == QUARTER:
        return _period(day.year, (day.month - 1) // 3 * 3 + 1, QUARTER)
    return _period(day.year, day.month, MONTH)


def last_periods(kind: str, count: int, until: dt.date) -> list[Period]:
    """The `count` periods of `kind` ending with the one that contains `until`, oldest first."""
    current = period_containing(until, kind)
    return [current.shifted(-current.months * back) for back in range(count - 1, -1, -1)]


def period_nav(period: Period, query_for) -> dict:
    """The dashboards' links to the period before and after `period`: each one's query string
    (`query_for(other)`, every other filter kept) and label; none into the future, none before
    MIN_YEAR (templates/reports/_period_nav.html)."""
    nav = {}
    for name, step in (("previous", -1), ("next", 1)):
        other = period.shifted(step * period.months)
        if other.start.year >= MIN_YEAR and other.start <= timezone.localdate():
            nav[name] = urlencode(query_for(other))
            nav[f"{name}_label"] = str(other)
    return nav
