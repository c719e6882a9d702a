"""Which imported answers count as "already there" when one file writes times with an offset and
another without: the same instant is the same answer; another instant never is, even when its
wall-clock time, read in UTC, is the instant of an answer stored before."""

from io import BytesIO

import pytest

from surveys.importing import import_responses
from surveys.models import Response
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = b"customer,survey,score,answered_at,comment,touchpoint\n"


@pytest.fixture(autouse=True)
def paris(settings):
    settings.TIME_ZONE = "Europe/Paris"
    CustomerFactory(external_id="C1")


def run(row: bytes):
    return import_responses(BytesIO(HEADER + row))


def test_it_imports_an_answer_an_hour_before_one_written_with_an_offset():
    assert run(b"C1,Support,9,2025-01-10T10:00:00+00:00,,\n").created == 1

    outcome = run(b"C1,Support,3,2025-01-10T10:00:00,,\n")  # 10:00 in Paris: 09:00 UTC

    assert outcome.ok and (outcome.created, outcome.skipped) == (1, 0)
    assert sorted(Response.objects.values_list("score", flat=True)) == [3, 9]


def test_it_skips_the_same_instant_written_without_an_offset():
    assert run(b"C1,Support,9,2025-01-10T10:00:00+00:00,,\n").created == 1

    outcome = run(b"C1,Support,9,2025-01-10T11:00:00,,\n")  # 11:00 in Paris: 10:00 UTC

    assert outcome.ok and (outcome.created, outcome.skipped) == (0, 1)
    assert Response.objects.count() == 1
