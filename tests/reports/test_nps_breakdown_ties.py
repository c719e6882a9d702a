"""The NPS breakdowns (dashboard and CSV) list groups with as many answers in name order.

They were sorted by the number of answers alone, so tied groups kept the order of the grouped
query's rows: the grouping of all three breakdowns at once (segment first) on SQLite and a sorted
plan, a hash's order on PostgreSQL. The touchpoints below came out in reverse name order, and two
downloads of the same figures could list them differently."""

import datetime as dt

import pytest

from reports.nps import nps_breakdowns
from reports.nps_dashboard import BREAKDOWN_KINDS
from reports.periods import parse_period
from surveys.models import SurveyKind
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db

SEGMENTS = [f"Seg{letter}" for letter in "ABCDEFGH"]


def test_groups_with_as_many_answers_are_listed_by_name():
    when = dt.datetime(2025, 3, 10, 12, tzinfo=dt.UTC)
    for i, segment in enumerate(SEGMENTS):  # touchpoints in the reverse order of the segments
        for _ in range(2):
            ResponseFactory(segment=segment, touchpoint=f"tp-{SEGMENTS[-1 - i]}", answered_at=when)
    ResponseFactory(segment="SegZ", touchpoint="tp-Z", answered_at=when)  # fewer answers: last

    found = nps_breakdowns(period=parse_period("2025-03"), bys=BREAKDOWN_KINDS, survey_type=SurveyKind.RELATIONSHIP)

    assert [name for name, _ in found["touchpoint"]] == [f"tp-{s}" for s in SEGMENTS] + ["tp-Z"]
    assert [name for name, _ in found["segment"]] == [*SEGMENTS, "SegZ"]
