"""Where rows come from: a CSV stream (UI upload, command) or a list of records (API).

Both yield `(row_number, cells)` with the cells in the order of the kind's columns, so the
validators downstream never know the source. Problems with the header or the shape of a row are
reported here; problems with a cell's value are the validators' job.
"""

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Sequence

from cxplatform.text import canonical_text, has_line_break

from .problems import Problems

Rows = Iterator[tuple[int, list[str]]]
RowSource = Callable[[], Rows]  # a fresh iterator each call: the fast path may need a second read

# csv's default field limit (128 Ki characters) stopped the file at a longer cell as "malformed
# CSV", with no column. Raised process-wide to a bound that still keeps the reader's memory flat:
# below it each column's own length check names the cell; above it the row's cell is "too long".
MAX_CELL = 1 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL))
TOO_LONG = "field larger than field limit"  # the csv module's message for such a cell


def _header_problems(header: Sequence[str], columns: Sequence[str], problems: Problems) -> list[int]:
    """Check the header row; return, for each expected column, its index in the file."""
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in seen:
            problems.add(1, name, f"column '{name}' appears twice in the header")
        elif name not in columns:
            problems.add(1, name or f"#{index + 1}", f"unknown column '{name}'; expected: {', '.join(columns)}")
        seen.setdefault(name, index)
    for name in columns:
        if name not in seen:
            problems.add(1, name, f"missing column '{name}'")
    return [seen.get(name, -1) for name in columns]


# Excel saves "CSV" with the computer's list separator: a semicolon where the decimal separator is
# a comma (French, German, ...); its "Text (Tab delimited)" uses tabs. Read with commas, such a
# header was one "unknown column" and every column "missing", which did not say why. SPEC §7's
# files are comma-separated: the file is rejected with one problem that says so, not guessed at.
WRONG_SEPARATORS = {
    ";": (
        "the columns are separated by semicolons, not commas (as Excel saves CSV with French or "
        "German regional settings): save it as “CSV UTF-8 (Comma delimited)” with commas between "
        "columns and a dot in amounts, or replace the semicolons with commas"
    ),
    "\t": (
        "the columns are separated by tabs, not commas (as in Excel's “Text (Tab delimited)”): "
        "save it as “CSV UTF-8 (Comma delimited)”, or replace the tabs with commas"
    ),
}


def _wrong_separator(header_line: str) -> str | None:
    """The problem of a header line with no comma that is separated by semicolons or tabs, or None."""
    if "," in header_line:
        return None
    found = [separator for separator in WRONG_SEPARATORS if separator in header_line]
    if not found:
        return None
    return WRONG_SEPARATORS[max(found, key=header_line.count)]


def csv_rows(binary, columns: Sequence[str], problems: Problems) -> RowSource:
    """Stream a CSV file (UTF-8, optional BOM) row by row; it is never read whole into memory."""

    def rows() -> Rows:
        if hasattr(binary, "seek"):
            binary.seek(0)
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        row_number = 0  # the last row read; a malformed one is the next
        try:
            first_line = text.readline()
            if (separator := _wrong_separator(first_line)) is not None:
                problems.add(1, "", separator)
                return
            # The line read back in front of the rest; none for an empty file (csv reads "" as a row).
            lines = itertools.chain([first_line], text) if first_line else text
            reader = csv.reader(lines, strict=True)
            header = next(reader, None)
            row_number = 1
            if header is None:
                problems.add(None, "", "the file is empty: expected a header row")
                return
            names = [h.strip() for h in header]
            # Excel's "Save as CSV" writes `a,b,c,,` when a column beyond the data was formatted:
            # unnamed columns at the end are no columns, as long as they hold nothing.
            while names and not names[-1]:
                names.pop()
            order = _header_problems(names, columns, problems)
            if problems:
                return
            width = len(header)
            for row_number, row in _rows_past_long_cells(reader, problems):
                if _blank(row):
                    continue
                if len(row) != width:
                    problems.add(row_number, "", f"expected {width} cells, found {len(row)}")
                    problems.rows_left_out += 1
                    continue
                if _unnamed_problems(row_number, row, len(names), problems):
                    problems.rows_left_out += 1
                    continue
                # Identities in NFC, as every door stores them: the "same file" hash is of the raw bytes.
                cells = [_canonical_cell(column, row[i].strip()) for column, i in zip(columns, order, strict=True)]
                if _unstorable_problems(row_number, columns, cells, problems):
                    problems.rows_left_out += 1
                else:
                    yield row_number, cells
        except UnicodeDecodeError:
            problems.add(_first_undecodable_row(binary), "", "the file is not UTF-8 text")
        except csv.Error as exc:  # in the header: the data rows' are reported as they are read
            problems.add(row_number + 1, "", _csv_error_message(exc))
        finally:
            text.detach()  # leave the caller's file open

    return rows


def _rows_past_long_cells(reader, problems: Problems) -> Rows:
    """The data rows, numbered from 2. A row with a cell above MAX_CELL is reported and left out,
    and reading goes on: the reader drops the rest of its line and resumes at the next one."""
    number = 1
    while True:
        number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.add(number, "", _csv_error_message(exc))
            if not str(exc).startswith(TOO_LONG):
                return  # where the next row starts is anyone's guess
            problems.rows_left_out += 1
            continue
        yield number, row


def _unnamed_problems(number: int, row: list[str], named: int, problems: Problems) -> bool:
    """A value under one of the header's unnamed columns at the end: it belongs to no column."""
    bad = False
    for index in range(named, len(row)):
        if row[index].strip():
            problems.add(number, f"#{index + 1}", "a value in a column with no name in the header")
            bad = True
    return bad


def _csv_error_message(exc: csv.Error) -> str:
    if str(exc).startswith(TOO_LONG):
        return f"cell too long: more than {MAX_CELL:,} characters"
    return f"malformed CSV: {exc}"


def _blank(row: list[str]) -> bool:
    """A blank line, or a row of empty cells: Excel's "Save as CSV" writes `,,,,` for a row that
    was formatted or cleared, a blank row in the spreadsheet, so it is no data row (whatever its
    width). It keeps its number, so the rows after it are numbered as the spreadsheet shows them."""
    return not any(cell.strip() for cell in row)


def _first_undecodable_row(binary) -> int | None:
    """The row holding the first bytes that are not UTF-8, counted as the reader counts rows.

    The text wrapper decodes 8 KiB ahead, so the row being read when it fails can be far before
    the bad one. Read again line by line (a newline byte never splits a UTF-8 character).
    """
    if not (hasattr(binary, "seekable") and binary.seekable()):
        return None
    binary.seek(0)
    lines = (line.decode("utf-8") for line in _byte_lines(binary))
    number = 0
    try:
        for number, _row in enumerate(csv.reader(lines), start=1):  # noqa: B007 - used after the loop
            pass
    except UnicodeDecodeError:
        return number + 1
    except csv.Error:
        return None
    return None


LINE_END = re.compile(rb"\r\n|\r|\n")


def _byte_lines(binary, chunk: int = 1 << 16):
    """The file's lines, each with its ending, whichever a spreadsheet wrote: CRLF, LF, or a lone CR
    (Excel for Mac's "CSV (Macintosh)"), which iterating over a binary file does not split."""
    pending = b""
    for block in iter(lambda: binary.read(chunk), b""):
        pending += block
        start = 0
        for end in LINE_END.finditer(pending):
            if end.group() == b"\r" and end.end() == len(pending):
                break  # maybe the first half of a CRLF: wait for the next block
            yield pending[start : end.end()]
            start = end.end()
        pending = pending[start:]
    if pending:
        yield pending


def record_rows(records: object, columns: Sequence[str], problems: Problems) -> RowSource:
    """Records of the API bulk endpoints: a list of objects keyed by the CSV columns.

    A record's shape problems (an unknown key, a cell that is a list or a boolean or that the
    database cannot store) are reported here, at once. The record still goes on to the validators
    with each such cell emptied, so that one response lists the other cells' errors and every
    other row's too: the caller sets aside what the validators then say of an emptied cell.
    """
    if not isinstance(records, list):
        problems.add(None, "", "expected a JSON list of objects")
        records = []
    checked: list[tuple[int, list[str]]] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            problems.add(number, "", "expected an object")
            problems.rows_left_out += 1
            continue
        for key in record:
            if key not in columns:
                problems.add(number, str(key), f"unknown field '{key}'; expected: {', '.join(columns)}")
        checked.append((number, [_record_cell(number, name, record.get(name), problems) for name in columns]))

    def rows() -> Rows:
        yield from checked

    return rows


# What a PostgreSQL text column cannot hold: a NUL character, or a lone surrogate. JSON's "\ud800"
# decodes to one (a CSV cannot hold one: its bytes fail UTF-8 decoding first); it is no Unicode
# character, and encoding it to UTF-8 for COPY or the ORM fails.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


# Names chosen back from a dropdown, which a browser submits with a line break as CRLF.
ONE_LINE_COLUMNS = frozenset({"segment", "touchpoint"})


def _unstorable(cell: str, column: str = "") -> str | None:
    """Why the database cannot store the cell (or the column would hold it wrong), or None."""
    if column in ONE_LINE_COLUMNS and has_line_break(cell):
        return f"a {column} is one line of text: remove the line break"
    found = _UNSTORABLE.search(cell)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "contains a lone surrogate (\\ud800-\\udfff), which is not Unicode text"


def _unstorable_problems(number: int, columns: Sequence[str], cells: list[str], problems: Problems) -> bool:
    """A cell the database cannot store is the row's problem, reported by row and column."""
    bad = False
    for name, cell in zip(columns, cells, strict=True):
        message = _unstorable(cell, name)
        if message is not None:
            problems.add(number, name, message)
            bad = True
    return bad


def _record_cell(number: int, name: str, value, problems: Problems) -> str:
    """A record's value as the text of a CSV cell; empty, with a problem, for a value that is no
    text or number (a list was stored as its Python repr, true as the text "true") or that the
    database cannot store."""
    if (kind := _not_a_cell(value)) is not None:
        problems.add(number, name, f"expected text or a number, not {kind}")
        return ""
    cell = cell_text(value)
    if (message := _unstorable(cell, name)) is not None:
        problems.add(number, name, message)
        return ""
    return _canonical_cell(name, cell)


# The columns naming a customer, a segment or a touchpoint: identities every door stores and
# matches in NFC (cxplatform.text). Other text (names, reason texts, survey names, ledger
# references) is kept as sent, as the other doors keep it: a reason text re-sent as it was stored
# keeps the admin's mapping, a ledger reference or a survey's name finds what it named before.
IDENTITY_COLUMNS = frozenset({"external_id", "customer", "parent", "referred_by", "segment", "touchpoint"})


def _canonical_cell(column: str, cell: str) -> str:
    return canonical_text(cell) if column in IDENTITY_COLUMNS else cell


def cell_text(value) -> str:
    """A record's text, number or null as the text of a CSV cell. A JSON number with a fraction or
    an exponent (cxplatform.api_parsers.JSONNumber) is its digits as sent, written out: 1e3 is
    "1000", and 10.0000000000000001 keeps the decimals the amount rule refuses (a plain float's
    "10.0" was stored as 10.00)."""
    return "" if value is None else str(value).strip()


def _not_a_cell(value) -> str | None:
    """What a JSON value no column takes is (no column is a list, an object or a boolean); None for
    text, a number or null (an empty cell)."""
    for kind, name in ((bool, "a boolean"), (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return None
