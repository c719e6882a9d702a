"""A file separated by semicolons or tabs (Excel's CSV with French or German regional settings, or
its "Text (Tab delimited)"): SPEC §7's files are comma-separated, so it is rejected, with one
problem on the header that says why, through every door that reads CSV."""

import io
import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounting.imports import COLUMNS, import_file
from accounting.models import CostEntry, Customer, ImportStatus, RevenueEntry
from surveys.models import Response, Survey
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# One data row per kind, in the order of its columns (SPEC §7), valid once comma-separated.
ROWS = {
    "customers": ["C001", "Alice Martin", "alice@example.org", "2025-01-15", "", "", "", "", "SMB", "120.00", "en"],
    "revenue": ["A1", "2025-01-05", "5.00", "r1", ""],
    "costs": ["A1", "2025-01-05", "5.00", "c1", "serve", ""],
    "responses": ["A1", "Imported NPS", "9", "2025-01-05", "", ""],
}
SEPARATORS = {";": "semicolons", "\t": "tabs"}


def file_of(kind: str, separator: str, *, bom: bool = False) -> bytes:
    lines = [separator.join(COLUMNS[kind]), separator.join(ROWS[kind]), ""]
    return (b"\xef\xbb\xbf" if bom else b"") + "\r\n".join(lines).encode()


def errors(batch) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in batch.errors.order_by("pk")]


def nothing_written() -> bool:
    return not (
        Customer.objects.exclude(external_id="A1").exists()
        or RevenueEntry.objects.exists() or CostEntry.objects.exists()
        or Survey.objects.exists() or Response.objects.exists()
    )


@pytest.mark.parametrize("separator", SEPARATORS, ids=SEPARATORS.values())
@pytest.mark.parametrize("kind", ROWS)
def test_a_file_separated_by_other_than_commas_is_rejected_with_one_problem_saying_so(kind, separator):
    CustomerFactory(external_id="A1")

    batch = import_file(kind=kind, file=io.BytesIO(file_of(kind, separator)), source="command")

    # Was: an "unknown column" naming the whole header, then one "missing column" for each column.
    [(row, column, message)] = errors(batch)
    assert (batch.status, batch.error_count, row, column) == (ImportStatus.REJECTED, 1, 1, "")
    assert f"separated by {SEPARATORS[separator]}, not commas" in message
    assert "CSV UTF-8 (Comma delimited)" in message
    assert nothing_written()


def test_quoted_semicolon_separated_header_with_a_bom_is_told_the_separator_not_malformed_csv():
    # Some tools quote every cell: read with commas, `"a";"b"` was "malformed CSV" on row 1.
    header = ";".join(f'"{name}"' for name in COLUMNS["revenue"]).encode()
    data = b"\xef\xbb\xbf" + header + b'\n"A1";"2025-01-05";"5,00";"r1";""\n'

    batch = import_file(kind="revenue", file=io.BytesIO(data), source="command")

    [(row, _, message)] = errors(batch)
    assert row == 1 and "separated by semicolons" in message


def test_a_comma_separated_file_with_semicolons_in_its_cells_is_imported():
    header = ",".join(COLUMNS["customers"])
    data = f"{header}\nC001,Martin; Alice,alice@example.org,2025-01-15,,,,,SMB;EU,120.00,en\n".encode()

    batch = import_file(kind="customers", file=io.BytesIO(data), source="command")

    assert batch.status == ImportStatus.SUCCEEDED, errors(batch)
    assert Customer.objects.get(external_id="C001").name == "Martin; Alice"


def test_the_upload_page_says_the_file_is_separated_by_semicolons(client, analyst):
    # From the audit of a fresh installation's first day (a customers file saved by a French Excel).
    client.force_login(analyst)

    upload = SimpleUploadedFile("customers.csv", file_of("customers", ";"), content_type="text/csv")

    page = client.post("/imports/", {"kind": "customers", "file": upload}, follow=True).content.decode()

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "rejected" in text and "1 error(s)" in text
    assert "separated by semicolons, not commas" in text
    assert "missing column" not in text and "unknown column" not in text
    assert not Customer.objects.exists()


@pytest.mark.parametrize("kind", ["customers", "revenue", "costs"])
def test_the_import_commands_say_the_file_is_separated_by_semicolons(tmp_path, kind):
    command = f"import_{kind}"
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(file_of(kind, ";", bom=True))
    err = StringIO()

    with pytest.raises(CommandError, match="rejected"):
        call_command(command, str(path), stdout=StringIO(), stderr=err)

    [line] = err.getvalue().splitlines()
    assert line.startswith(f"{kind}.csv: row 1: the columns are separated by semicolons, not commas")
    assert nothing_written()
