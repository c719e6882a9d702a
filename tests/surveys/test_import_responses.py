"""manage.py import_responses (SPEC §7): all rows or none, every error by row and column, and a
second run of the same file adds nothing."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from surveys.models import Invitation, InvitationState, Response, ResponseSource, Survey
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db

HEADER = "customer,survey,score,answered_at,comment,touchpoint\n"


@pytest.fixture
def customers():
    return [CustomerFactory(external_id=f"C{i}", segment="SMB") for i in (1, 2, 3)]


def _file(tmp_path, text: str, *, encoding="utf-8"):
    path = tmp_path / "answers.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _run(path):
    out, err = StringIO(), StringIO()
    call_command("import_responses", str(path), stdout=out, stderr=err)
    return out.getvalue()


def _errors(path) -> str:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_responses", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue() + str(failure.value)


GOOD = HEADER + (
    "C1,Legacy NPS,10,2024-05-01,Love it,web\n"
    "C2,Legacy NPS,3,2024-05-02T14:30:00,Too expensive,\n"
    "C3,Support survey,8,2024-06-01T09:00:00+02:00,,phone\n"
)


def test_each_row_becomes_an_answered_invitation_and_a_response(tmp_path, customers):
    output = _run(_file(tmp_path, GOOD))

    assert "Imported 3 response(s); 0 already there." in output
    assert Response.objects.count() == 3 and Invitation.objects.count() == 3
    response = Response.objects.get(customer__external_id="C2")
    invitation = response.invitation
    answered = timezone.make_aware(dt.datetime(2024, 5, 2, 14, 30))
    assert (response.score, response.category, response.reason) == (3, "detractor", "Too expensive")
    assert response.source == ResponseSource.IMPORT and response.segment == invitation.segment == "SMB"
    assert response.answered_at == answered
    assert invitation.state == InvitationState.RESPONDED
    assert invitation.sent_at == invitation.responded_at == answered
    assert invitation.reference.startswith("import:")


def test_a_missing_survey_is_created_as_an_imported_relationship_survey(tmp_path, customers):
    SurveyFactory(name="Support survey")

    output = _run(_file(tmp_path, GOOD))

    legacy = Survey.objects.get(name="Legacy NPS")
    assert legacy.imported and legacy.kind == "relationship"
    assert not Survey.objects.get(name="Support survey").imported
    assert "Created imported survey(s): Legacy NPS." in output


def test_a_date_without_time_is_midnight_in_the_default_time_zone(tmp_path, customers):
    _run(_file(tmp_path, GOOD))
    response = Response.objects.get(customer__external_id="C1")
    assert response.answered_at == timezone.make_aware(dt.datetime(2024, 5, 1))


def test_an_offset_is_kept(tmp_path, customers):
    _run(_file(tmp_path, GOOD))
    response = Response.objects.get(customer__external_id="C3")
    assert response.answered_at == dt.datetime(2024, 6, 1, 7, 0, tzinfo=dt.UTC)


def test_importing_the_same_file_twice_adds_nothing(tmp_path, customers):
    path = _file(tmp_path, GOOD)
    _run(path)

    output = _run(path)

    assert "Imported 0 response(s); 3 already there." in output
    assert Response.objects.count() == 3 and Survey.objects.filter(name="Legacy NPS").count() == 1


def test_a_grown_file_adds_only_its_new_rows(tmp_path, customers):
    _run(_file(tmp_path, GOOD))
    output = _run(_file(tmp_path, GOOD + "C1,Legacy NPS,9,2024-07-01,,\n"))
    assert "Imported 1 response(s); 3 already there." in output


def test_every_bad_row_is_listed_and_nothing_is_written(tmp_path, customers):
    text = HEADER + (
        "C1,Legacy NPS,10,2024-05-01,fine,web\n"
        "NOPE,Legacy NPS,11,2024-13-01,,\n"
        "C2,,x,yesterday,,\n"
        "C3,Legacy NPS,5\n"
        "C1,Legacy NPS,7,2024-05-01,same key as row 2,web\n"
    )

    errors = _errors(_file(tmp_path, text))

    for expected in (
        "row 3, column customer: unknown customer 'NOPE'",
        "row 3, column score:",
        "row 3, column answered_at:",
        "row 4, column survey:",
        "row 4, column score:",
        "row 4, column answered_at:",
        "row 5: expected 6 cells, found 3",
        "row 6, column answered_at: the same customer, survey and answered_at as row 2",
    ):
        assert expected in errors
    assert "nothing was imported" in errors
    assert not Response.objects.exists() and not Invitation.objects.exists()
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("customer,survey,score,answered_at,comment\n", "missing column 'touchpoint'"),
        ("customer,survey,score,answered_at,comment,touchpoint,extra\n", "unknown column 'extra'"),
        ("customer,survey,score,score,answered_at,comment,touchpoint\n", "column 'score' appears twice"),
    ],
)
def test_a_bad_header_rejects_the_file(tmp_path, customers, header, message):
    errors = _errors(_file(tmp_path, header + "C1,S,1,2024-01-01,,\n"))
    assert "row 1" in errors and message in errors


def test_a_file_that_is_not_utf8_is_rejected(tmp_path, customers):
    errors = _errors(_file(tmp_path, HEADER + "C1,Été,9,2024-01-01,très bien,\n", encoding="latin-1"))
    assert "not UTF-8" in errors
    assert not Response.objects.exists()


def test_a_future_answer_is_rejected(tmp_path, customers):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    errors = _errors(_file(tmp_path, HEADER + f"C1,S,9,{tomorrow},,\n"))
    assert "row 2, column answered_at" in errors


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_responses", str(tmp_path / "nope.csv"))


def test_import_writes_in_bulk(tmp_path, django_assert_max_num_queries):
    rows = []
    for i in range(200):
        CustomerFactory(external_id=f"B{i}")
        rows.append(f"B{i},Bulk,{i % 11},2024-01-{i % 28 + 1:02d},,\n")
    path = _file(tmp_path, HEADER + "".join(rows))

    # customers, existing keys, surveys, survey insert (+ history), then multi-row INSERTs of
    # invitations, responses and their history (SQLite splits them at its variable limit): far
    # from the 600+ a query per row would take.
    with django_assert_max_num_queries(30):
        _run(path)
    assert Response.objects.count() == 200
    assert Response.history.count() == 200
