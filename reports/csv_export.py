"""CSV downloads of report tables, safe to open in a spreadsheet.

A text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return) is read by Excel,
LibreOffice and Google Sheets as a formula: a customer named `=HYPERLINK(...)` would become a live
link, or worse. Such cells get a leading single quote, which spreadsheets show as text (OWASP "CSV
injection"). Numbers are written as numbers: a refund of -30.00 is data, not a formula.

Every text cell is in double quotes too: a spreadsheet set to a semicolon separator (German and
French locales) would otherwise split `x;=cmd|...` at the semicolon and start a cell with `=`.
"""

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str | int | float | Decimal:
    """One cell: None is empty, numbers stay numbers, text that could run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """csv.writer writes to this; each row comes straight back to be streamed."""

    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream the table row by row, so a long referral list never sits whole in memory."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_NONNUMERIC)

    def lines():
        yield writer.writerow([csv_cell(name) for name in header])
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
