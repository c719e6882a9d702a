"""Historical answers are imported as every file is: an ImportBatch on the Imports page and in
/api/imports/; and a row's key holds across a change of TIME_ZONE, so a re-run adds nothing."""

import hashlib
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounting.models import ImportBatch, ImportKind, ImportStatus
from surveys.models import Invitation, Response, ResponseSource
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = b"customer,survey,score,answered_at,comment,touchpoint\n"
ANSWERS = HEADER + (
    b"C1,Legacy NPS,9,2025-03-01,fine,\n"
    b"C1,Legacy NPS,3,2025-03-02T10:30:00,slow,\n"
)


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C1")


def _file(tmp_path, data: bytes, name="answers.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _run(path) -> str:
    out = StringIO()
    call_command("import_responses", str(path), stdout=out, stderr=StringIO())
    return out.getvalue()


def _old_key(external_id: str, survey: str, instant_utc: str) -> str:
    """The key import_responses stored before it hashed the cell as written: the UTC instant."""
    raw = "\x1f".join([external_id, survey, instant_utc])
    return "import:" + hashlib.sha256(raw.encode()).hexdigest()


# --- The import record ---------------------------------------------------------------------------


def test_the_command_keeps_an_import_record_like_every_other_import(tmp_path, customer):
    path = _file(tmp_path, ANSWERS)

    output = _run(path)

    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.source, batch.filename) == (ImportKind.RESPONSES, "command", "answers.csv")
    assert batch.sha256 == hashlib.sha256(ANSWERS).hexdigest()
    assert batch.status == ImportStatus.SUCCEEDED and batch.finished_at is not None
    assert (batch.rows_total, batch.rows_created, batch.rows_skipped, batch.error_count) == (2, 2, 0, 0)
    assert batch.message == "Imported 2 response(s); 0 already there. Created imported survey(s): Legacy NPS."
    assert f"Import #{batch.pk}: Imported 2 response(s)" in output
    assert Response.objects.count() == 2


def test_a_second_run_of_the_same_file_is_recorded_with_its_rows_already_there(tmp_path, customer):
    path = _file(tmp_path, ANSWERS)
    _run(path)

    output = _run(path)

    second = ImportBatch.objects.order_by("pk").last()
    assert (second.rows_total, second.rows_created, second.rows_skipped) == (2, 0, 2)
    assert "Imported 0 response(s); 2 already there." in output
    assert Response.objects.count() == 2


def test_a_rejected_file_keeps_every_error_by_row_and_column(tmp_path, customer):
    path = _file(tmp_path, HEADER + b"C1,Legacy NPS,11,2025-03-01,,\nNOPE,Legacy NPS,5,yesterday,,\n")
    err = StringIO()

    with pytest.raises(CommandError, match="rejected"):
        call_command("import_responses", str(path), stdout=StringIO(), stderr=err)

    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.REJECTED and batch.error_count == 3
    assert list(batch.errors.values_list("row", "column")) == [(2, "score"), (3, "customer"), (3, "answered_at")]
    assert "answers.csv: row 3, column customer: unknown customer 'NOPE'" in err.getvalue()
    assert not Response.objects.exists() and not Invitation.objects.exists()


def test_the_imports_page_and_the_api_list_a_responses_import(tmp_path, customer, client_as, api_client_as):
    _run(_file(tmp_path, ANSWERS))
    batch = ImportBatch.objects.get()

    page = client_as("analyst").get(reverse("accounting:import-list")).content.decode()
    detail = client_as("analyst").get(reverse("accounting:import-detail", args=[batch.pk])).content.decode()
    api = api_client_as("analyst")
    listed = api.get(reverse("api-import-list"), {"kind": "responses"}).json()["results"]
    others = api.get(reverse("api-import-list"), {"kind": "revenue"}).json()["results"]

    assert "Survey responses" in page and "answers.csv" in page
    assert f"Survey responses import #{batch.pk}" in detail
    assert [(b["id"], b["kind"], b["filename"], b["rows_created"]) for b in listed] == [
        (batch.pk, "responses", "answers.csv", 2)
    ]
    assert others == []


def test_answers_uploaded_on_the_imports_page_are_imported_and_recorded(customer, client_as):
    client = client_as("analyst")
    form = client.get(reverse("accounting:import-list")).content.decode()
    assert "customer,survey,score,answered_at,comment,touchpoint" in form  # the expected header

    client.post(
        reverse("accounting:import-list"),
        {"kind": "responses", "file": SimpleUploadedFile("answers.csv", ANSWERS, content_type="text/csv")},
    )

    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.source, batch.status, batch.rows_created) == ("responses", "ui", "succeeded", 2)
    assert batch.created_by.groups.filter(name="analyst").exists()
    assert set(Response.objects.values_list("source", flat=True)) == {ResponseSource.IMPORT}


def test_a_group_that_may_import_ledger_files_but_not_add_answers_cannot_upload_responses(customer, client):
    """A custom group with the import permissions only: answers come with surveys and responses."""
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    importer = UserFactory(role=None)
    importer.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="accounting", codename__in=["add_importbatch", "view_importbatch"]
    ))
    client.force_login(importer)

    page = client.post(
        reverse("accounting:import-list"),
        {"kind": "responses", "file": SimpleUploadedFile("answers.csv", ANSWERS, content_type="text/csv")},
    )

    assert page.status_code == 400
    assert "needs the permission to add surveys and responses" in page.content.decode()
    assert not ImportBatch.objects.exists() and not Response.objects.exists()


# --- Keys across a change of TIME_ZONE ----------------------------------------------------------


def test_a_second_run_adds_nothing_after_the_time_zone_was_set(tmp_path, customer, settings):
    """Times without an offset are read in TIME_ZONE: the key hashes them as written, not the
    instant, so setting the company's zone does not make every answer new again."""
    settings.TIME_ZONE = "UTC"
    _run(_file(tmp_path, ANSWERS))

    settings.TIME_ZONE = "Europe/Paris"
    output = _run(_file(tmp_path, ANSWERS + b"C1,Legacy NPS,10,2025-04-01T08:00:00,new,\n"))

    assert "Imported 1 response(s); 2 already there." in output
    assert Response.objects.count() == 3


@pytest.mark.parametrize(("then", "expected"), [("Europe/Paris", 0), ("UTC", 2)], ids=["same zone", "zone set since"])
def test_answers_keyed_before_by_their_instant_are_found_under_the_current_zone(
    tmp_path, customer, settings, then, expected,
):
    """Files imported before keys hashed the cell as written stored the instant's key: found under
    the current zone only. Under another zone since changed, UTC included, the wall-clock time is
    another instant, indistinguishable from an answer written with an offset: imported again."""
    settings.TIME_ZONE = then
    _run(_file(tmp_path, ANSWERS))
    for invitation in Invitation.objects.all():  # as the older import stored them
        invitation.reference = _old_key("C1", "Legacy NPS", invitation.responded_at.isoformat())
        invitation.save(update_fields=["reference"])

    settings.TIME_ZONE = "Europe/Paris"
    output = _run(_file(tmp_path, ANSWERS))

    assert f"Imported {expected} response(s); {2 - expected} already there." in output
    assert Response.objects.count() == 2 + expected


def test_a_time_with_an_offset_keeps_the_key_it_always_had(tmp_path, customer, settings):
    settings.TIME_ZONE = "Europe/Paris"
    _run(_file(tmp_path, HEADER + b"C1,Legacy NPS,8,2025-03-02T10:30:00+02:00,,\n"))

    assert Invitation.objects.get().reference == _old_key("C1", "Legacy NPS", "2025-03-02T08:30:00+00:00")


def test_the_same_answer_twice_in_a_file_is_still_found_by_its_instant(tmp_path, customer, settings):
    settings.TIME_ZONE = "Europe/Paris"
    path = _file(tmp_path, HEADER + b"C1,S,8,2025-03-02T10:30:00,,\nC1,S,8,2025-03-02T09:30:00Z,,\n")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_responses", str(path), stdout=StringIO(), stderr=err)

    assert "row 3, column answered_at: the same customer, survey and answered_at as row 2" in err.getvalue()
