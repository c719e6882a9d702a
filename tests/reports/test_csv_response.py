"""reports.csv_export: a long table streams in growing batches, with the bytes it had row by row."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from reports.csv_export import BOM, FORMULA_STARTS, csv_cell, csv_datetime, csv_datetime_text, csv_response
from surveys.models import SurveyKind

HEADER = ["name", "amount", "when", "flag", "kind"]
ROWS = [
    ["=HYPERLINK(\"http://x\")", Decimal("-30.00"), dt.datetime(2025, 3, 30, 0, 59, 59, 999999, tzinfo=dt.UTC), True,
     SurveyKind.RELATIONSHIP],
    ["Zoë 日本", 0, dt.datetime(2025, 3, 30, 1, 0, tzinfo=dt.UTC), False, "-transactional"],
    [None, 1.5, None, None, "x;=cmd|'/C calc'!A0"],
    ['Two lines\n"quoted"', -7, dt.datetime(2025, 10, 26, 0, 30, 0, 7, tzinfo=dt.UTC), "@at", "\tTab"],
]


def chunks(response) -> list[bytes]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(response.streaming_content)


def _old_cell(value):
    """csv_cell as it was before its fast path for text: the reference."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return csv_datetime(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def row_by_row(header, rows) -> bytes:
    """The body as it was streamed a row a chunk."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
    out.write(BOM)
    for row in [header, *rows]:
        writer.writerow([_old_cell(value) for value in row])
    return out.getvalue().encode()


@override_settings(TIME_ZONE="Europe/Paris")
def test_the_body_is_the_bytes_it_was_row_by_row():
    rows = ROWS * 300

    body = b"".join(chunks(csv_response("t.csv", HEADER, rows)))

    assert body == row_by_row(HEADER, rows)
    assert body.count(b"\r\n") == 1 + len(rows)


def test_a_long_table_goes_out_in_growing_batches_not_a_chunk_a_row():
    """Each chunk is a socket write under gunicorn's sync worker and a pass through Django's
    response: one a row held the responses export to ~6,000 rows/s."""
    parts = chunks(csv_response("t.csv", ["n"], ([n] for n in range(1000))))

    assert parts[:2] == [BOM.encode(), b'"n"\r\n']
    assert [part.count(b"\r\n") for part in parts[2:]] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 489]
    assert b"".join(parts[2:]) == "".join(f"{n}\r\n" for n in range(1000)).encode()


def test_the_largest_batch_is_512_rows():
    parts = chunks(csv_response("t.csv", ["n"], ([n] for n in range(3000))))

    assert max(part.count(b"\r\n") for part in parts) == 512


def test_the_first_row_goes_out_before_the_second_is_read():
    read = []

    def rows():
        for n in range(10):
            read.append(n)
            yield [n]

    parts = iter(csv_response("t.csv", ["n"], rows()).streaming_content)
    next(parts), next(parts)  # byte order mark, header

    assert next(parts) == b"0\r\n"
    assert read == [0]


def test_an_empty_table_is_its_header():
    assert chunks(csv_response("t.csv", ["a", "b"], [])) == [BOM.encode(), b'"a","b"\r\n']


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kathmandu"])
def test_csv_datetime_text_writes_what_csv_datetime_writes(zone):
    times = [None, *(row[2] for row in ROWS if row[2]), dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)]
    with override_settings(TIME_ZONE=zone):
        text = csv_datetime_text()
        assert [text(value) for value in times] == [csv_datetime(value) for value in times]


def test_csv_datetime_text_uses_the_zone_active_when_made():
    with timezone.override("Asia/Tokyo"):
        text = csv_datetime_text()
    assert text(dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC)) == "2025-07-01T07:30:00+09:00"


def test_a_text_subclass_is_quoted_like_its_text():
    assert csv_cell(SurveyKind.RELATIONSHIP) == "relationship"
    assert csv_cell("=1+1") == "'=1+1"
