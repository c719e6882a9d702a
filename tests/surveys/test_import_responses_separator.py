"""manage.py import_responses and the Imports page with a semicolon-separated file (Excel's CSV with
French or German regional settings): one problem on the header saying so, nothing written."""

import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from surveys.models import Response, Survey
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

FILE = b"customer;survey;score;answered_at;comment;touchpoint\r\nC1;Imported NPS;9;2025-01-05;;\r\n"


def test_import_responses_says_the_file_is_separated_by_semicolons(tmp_path):
    CustomerFactory(external_id="C1")
    path = tmp_path / "answers.csv"
    path.write_bytes(FILE)
    err = StringIO()

    with pytest.raises(CommandError, match="rejected"):
        call_command("import_responses", str(path), stdout=StringIO(), stderr=err)

    # Was: "unknown column 'customer;survey;…'" and six "missing column" lines.
    [line] = err.getvalue().splitlines()
    assert line.startswith("answers.csv: row 1: the columns are separated by semicolons, not commas")
    assert not Survey.objects.exists() and not Response.objects.exists()


def test_the_responses_upload_says_the_file_is_separated_by_semicolons(client, admin_user):
    CustomerFactory(external_id="C1")
    client.force_login(admin_user)

    page = client.post(
        "/imports/",
        {"kind": "responses", "file": SimpleUploadedFile("answers.csv", FILE, content_type="text/csv")},
        follow=True,
    ).content.decode()

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "separated by semicolons, not commas" in text and "missing column" not in text
    assert not Survey.objects.exists() and not Response.objects.exists()
