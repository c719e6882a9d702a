"""CSV downloads of report tables, safe to open in a spreadsheet.

A text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) is read by Excel,
LibreOffice and Google Sheets as a formula: a customer named `=HYPERLINK(...)` would become a live
link, or worse. Such cells get a leading single quote, which spreadsheets show as text (OWASP "CSV
injection"). Numbers are written as numbers: a refund of -30.00 is data, not a formula.

Every text cell is in double quotes too: a spreadsheet set to a semicolon separator (German and
French locales) would otherwise split `x;=cmd|...` at the semicolon and start a cell with `=`.

The file starts with a UTF-8 byte order mark: without it Excel reads a double-clicked .csv in the
system's ANSI code page ("Zoë" becomes "ZoÃ«"). Times are the company's (TIME_ZONE), with their
offset, as the pages, filters and periods show them.
"""

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice

from django.http import StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def csv_datetime(value: dt.datetime | None) -> str:
    """An aware datetime in the company's time zone, offset included: in UTC, 00:30 on 1 July in
    Paris would read 30 June, outside the day the export was filtered to."""
    return "" if value is None else timezone.localtime(value).isoformat()


def csv_datetime_text() -> Callable[[dt.datetime | None], str]:
    """`csv_datetime` with the company's time zone looked up once, not once a cell: the same text
    (`localtime` is `astimezone` of the current zone) for an export of millions of times."""
    zone = timezone.get_current_timezone()

    def text(value: dt.datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).isoformat()

    return text


def csv_cell(value) -> str | int | float | Decimal:
    """One cell: None is empty, numbers stay numbers, text that could run as a formula is quoted."""
    if type(value) is str:  # most cells, so tested first; a str subclass takes the long way
        return f"'{value}" if value.startswith(FORMULA_STARTS) else value
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


class _Echo:
    """csv.writer writes to this; each row comes straight back to be streamed."""

    def write(self, value: str) -> str:
        return value


# The most rows one chunk of the body holds (about 80 KiB of responses). Each chunk costs a socket
# write under gunicorn's sync worker and a pass through Django's response: one a row held the
# responses export to ~6,000 rows/s.
LARGEST_BATCH = 512


def _batches(rows: Iterable[Sequence]) -> Iterator[list[Sequence]]:
    """The rows in batches of 1, 2, 4, ... LARGEST_BATCH: the first row goes out as soon as it is
    read, as it did when each row was its own chunk, and later ones a batch at a time."""
    rows = iter(rows)
    size = 1
    while batch := list(islice(rows, size)):
        yield batch
        size = min(size * 2, LARGEST_BATCH)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream the table a few rows at a time, so a long referral list never sits whole in memory."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_NONNUMERIC)

    def line(row: Sequence) -> str:
        return writer.writerow([csv_cell(value) for value in row])

    def lines():
        yield BOM
        yield line(header)
        for batch in _batches(rows):
            yield "".join(map(line, batch))

    # The charset given as well as in the header: Django otherwise parses the header once a chunk.
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8", charset="utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
