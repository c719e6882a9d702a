"""The imports page: upload a CSV, read the outcome and every error."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounting.imports import COLUMNS
from accounting.models import (
    Customer,
    ImportBatch,
    ImportKind,
    ImportRowError,
    ImportStatus,
    RevenueEntry,
)
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

LIST_URL = reverse("accounting:import-list")

CUSTOMERS_CSV = (
    "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,"
    "acquisition_cost,language\n"
    "ACME,Acme Corp,buyer@acme.example,2024-02-01,recommendation,,,,Enterprise,120.00,en\n"
    "ACME-FR,Acme France,,2024-03-01,advertising,,ACME,ACME,Enterprise,,fr\n"
)


def csv_file(content: str | bytes, name: str = "file.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def detail_url(batch):
    return reverse("accounting:import-detail", args=[batch.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def make_batch(**fields) -> ImportBatch:
    defaults = {"kind": ImportKind.REVENUE, "source": "ui", "filename": "revenue.csv"}
    return ImportBatch.objects.create(**defaults | fields)


# --- The page -------------------------------------------------------------------------------------


def test_it_shows_the_form_and_the_expected_headers(client_as):
    response = client_as("analyst").get(LIST_URL)

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text
    for kind in ("customers", "revenue", "costs"):
        assert f'<option value="{kind}"' in response.text
        assert f"<code>{','.join(COLUMNS[kind])}</code>" in response.text


def test_it_lists_past_imports(client_as, analyst):
    make_batch(
        filename="jan.csv",
        status=ImportStatus.SUCCEEDED,
        rows_created=7,
        rows_updated=2,
        rows_skipped=1,
        created_by=analyst,
    )
    make_batch(filename="<b>feb</b>.csv", status=ImportStatus.REJECTED, error_count=3)

    response = client_as("admin").get(LIST_URL)

    text = response.text
    assert '<span class="badge succeeded">Succeeded</span>' in text
    assert '<span class="badge rejected">Rejected</span>' in text
    assert "bob" in text
    assert "&lt;b&gt;feb&lt;/b&gt;.csv" in text
    assert [b.filename for b in response.context["page_obj"]] == ["<b>feb</b>.csv", "jan.csv"]


def test_it_pages_the_imports_in_constant_queries(client_as, analyst, django_assert_num_queries):
    client = client_as("analyst")
    for index in range(60):
        make_batch(filename=f"f{index}.csv", created_by=analyst)
    # session, user, user permissions, group permissions, count, page
    with django_assert_num_queries(6):
        response = client.get(LIST_URL, {"page": 2})
    assert len(response.context["page_obj"]) == 10
    assert 'href="?page=1"' in response.text


# --- Uploading ------------------------------------------------------------------------------------


def test_it_imports_customers(client_as):
    client = client_as("analyst")

    response = client.post(LIST_URL, {"kind": "customers", "file": csv_file(CUSTOMERS_CSV)})

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(batch)
    assert (batch.status, batch.source, batch.filename) == ("succeeded", "ui", "file.csv")
    assert batch.created_by.username == response.wsgi_request.user.username
    assert (batch.rows_created, batch.rows_updated, batch.error_count) == (2, 0, 0)
    acme_fr = Customer.objects.get(external_id="ACME-FR")
    assert acme_fr.parent.external_id == "ACME"
    assert acme_fr.reason == reason("advertising")
    assert messages_of(response) == ["Imported file.csv: 2 created, 0 updated, 0 skipped."]

    page = client.get(response["Location"])
    assert '<span class="badge succeeded">Succeeded</span>' in page.text
    assert "2 created" in page.text


def test_it_imports_revenue(client_as):
    CustomerFactory(external_id="ACME")
    csv = (
        "customer,date,amount,external_ref,product\nACME,2025-01-31,1200.50,INV-1,Plan\nACME,2025-02-28,-200.00,CN-1,\n"
    )

    response = client_as("admin").post(LIST_URL, {"kind": "revenue", "file": csv_file(csv, "revenue.csv")})

    batch = ImportBatch.objects.get()
    assert response["Location"] == detail_url(batch)
    assert batch.status == ImportStatus.SUCCEEDED
    assert sorted(RevenueEntry.objects.values_list("external_ref", "amount")) == [
        ("CN-1", Decimal("-200.00")),
        ("INV-1", Decimal("1200.50")),
    ]


def test_it_streams_a_large_upload_from_a_temporary_file(client_as, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload goes to a temporary file

    client_as("analyst").post(LIST_URL, {"kind": "customers", "file": csv_file(CUSTOMERS_CSV)})

    assert ImportBatch.objects.get().status == ImportStatus.SUCCEEDED
    assert Customer.objects.count() == 2


def test_it_shows_every_error_of_a_rejected_file(client_as):
    CustomerFactory(external_id="ACME")
    csv = (
        "customer,date,amount,external_ref,product\n"
        "ACME,2025-01-31,12.00,INV-1,Plan\n"
        "NOBODY,2025-01-31,12.00,INV-2,Plan\n"
        "ACME,31/01/2025,12.00,INV-3,Plan\n"
        "ACME,2025-01-31,twelve,INV-4,Plan\n"
    )
    client = client_as("analyst")

    response = client.post(LIST_URL, {"kind": "revenue", "file": csv_file(csv, "bad.csv")})

    batch = ImportBatch.objects.get()
    assert response["Location"] == detail_url(batch)
    assert batch.status == ImportStatus.REJECTED
    assert not RevenueEntry.objects.exists()
    errors = list(batch.errors.values_list("row", "column"))
    assert errors == [(3, "customer"), (4, "date"), (5, "amount")]
    assert any("bad.csv was rejected" in m for m in messages_of(response))

    page = client.get(response["Location"])
    assert '<span class="badge rejected">Rejected</span>' in page.text
    for error in batch.errors.all():
        assert f'<td class="num">{error.row}</td>' in page.text
        assert f"<td>{error.column}</td>" in page.text
    assert "NOBODY" in page.text


def test_a_rejected_file_counts_every_row_it_read_those_of_the_wrong_width_too(client_as):
    CustomerFactory(external_id="A1")
    csv = (
        "customer,date,amount,external_ref,product\n"
        "A1,2024-03-01,100.00,R1,Plan\n"
        "A1,2024-03-05,50,50,R2,Plan\n"  # an unquoted decimal comma: one cell too many
        "A1,2025-03-05,-20.00,R3,\n"
        "A1,2025-03-01,130.00,R4,Plan\n"
    )
    client = client_as("analyst")

    response = client.post(LIST_URL, {"kind": "revenue", "file": csv_file(csv)}, follow=True)

    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.REJECTED
    assert list(batch.errors.values_list("row", "column")) == [(3, "")]
    assert batch.rows_total == 4
    assert "4 read" in response.text


def test_it_rejects_a_file_with_a_wrong_header(client_as):
    client = client_as("analyst")

    response = client.post(
        LIST_URL,
        {"kind": "customers", "file": csv_file("customer,date,amount\nA,B,C\n")},
        follow=True,
    )

    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.REJECTED
    assert "missing column" in response.text
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("customers.xlsx", b"PK\x03\x04\x14\x00\x06\x00", "Only CSV files can be imported"),
        ("customers.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "This is not a CSV text file"),
        ("customers.csv", b"", "The file is empty"),
        ("customers.csv", b"\n\n  \n", "The file is empty"),
    ],
)
def test_it_rejects_a_non_csv_or_empty_upload(client_as, name, content, message):
    response = client_as("analyst").post(LIST_URL, {"kind": "customers", "file": csv_file(content, name)})

    assert response.status_code == 400
    assert message in response.text
    assert not ImportBatch.objects.exists()


def test_it_requires_a_file_and_a_known_kind(client_as):
    response = client_as("analyst").post(LIST_URL, {"kind": "orders"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    assert "This field is required" in response.text
    assert not ImportBatch.objects.exists()


# --- The import's page ----------------------------------------------------------------------------


def test_it_shows_the_outcome(client_as):
    batch = make_batch(
        status=ImportStatus.SUCCEEDED,
        rows_total=12,
        rows_created=10,
        rows_updated=1,
        rows_skipped=1,
        message="12 row(s): 10 added, 1 updated, 1 already there.",
    )
    batch.finished_at = batch.started_at + dt.timedelta(seconds=2.5)
    batch.save()

    response = client_as("analyst").get(detail_url(batch))

    assert response.status_code == 200
    assert "12 read: 10 created, 1 updated, 1 skipped" in response.text
    assert "2.50 s" in response.text
    assert "10 added, 1 updated, 1 already there." in response.text


def test_it_pages_every_error_by_100(client_as):
    batch = make_batch(status=ImportStatus.REJECTED, error_count=150)
    ImportRowError.objects.bulk_create(
        ImportRowError(batch=batch, row=row, column="amount", message=f"bad amount on {row}") for row in range(2, 152)
    )
    client = client_as("analyst")

    first = client.get(detail_url(batch))
    second = client.get(detail_url(batch), {"page": 2})

    assert [e.row for e in first.context["page_obj"]] == list(range(2, 102))
    assert [e.row for e in second.context["page_obj"]] == list(range(102, 152))
    assert 'href="?page=2"' in first.text
    assert "bad amount on 151" in second.text
    assert "bad amount on 151" not in first.text


def test_it_says_when_only_some_errors_were_listed(client_as):
    batch = make_batch(status=ImportStatus.REJECTED, error_count=5)
    ImportRowError.objects.create(batch=batch, row=None, column="", message="the file is empty")

    response = client_as("analyst").get(detail_url(batch))

    assert "1 of 5 errors are listed" in response.text
    assert '<td class="num">file</td>' in response.text
