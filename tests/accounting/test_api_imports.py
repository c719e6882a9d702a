"""The import log over the API: read-only, each import with its errors by row and column."""

import pytest
from django.urls import reverse

from accounting.apis import LISTED_ERRORS
from accounting.models import ImportBatch, ImportKind, ImportRowError, ImportStatus

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-import-list")


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


def rejected_batch(errors: int) -> ImportBatch:
    batch = ImportBatch.objects.create(
        kind=ImportKind.REVENUE, source="command", filename="revenue.csv",
        status=ImportStatus.REJECTED, rows_total=errors, error_count=errors,
    )
    ImportRowError.objects.bulk_create(
        ImportRowError(batch=batch, row=n + 2, column="amount", message="not an amount")
        for n in range(errors)
    )
    return batch


def test_imports_are_listed_newest_first_with_their_counts(api):
    first = ImportBatch.objects.create(
        kind="revenue", source="ui", status="succeeded", rows_created=3
    )
    second = rejected_batch(2)

    body = api.get(LIST_URL).json()

    assert [b["id"] for b in body["results"]] == [second.pk, first.pk]
    assert body["results"][1]["rows_created"] == 3
    assert "errors" not in body["results"][0]


def test_imports_filter_by_status_and_kind(api):
    rejected_batch(1)
    ok = ImportBatch.objects.create(kind="costs", source="api", status="succeeded")

    assert [b["id"] for b in api.get(LIST_URL, {"status": "succeeded"}).json()["results"]] == [
        ok.pk
    ]
    assert api.get(LIST_URL, {"kind": "customers"}).json()["count"] == 0


def test_an_import_shows_its_errors_by_row_and_column(api):
    batch = rejected_batch(2)

    body = api.get(reverse("api-import-detail", args=[batch.pk])).json()

    assert body["status"] == "rejected"
    assert body["error_count"] == 2
    assert body["errors"][0] == {"row": 2, "column": "amount", "message": "not an amount"}


def test_the_detail_lists_the_first_errors_and_the_errors_endpoint_pages_through_all(api):
    batch = rejected_batch(LISTED_ERRORS + 1)

    detail = api.get(reverse("api-import-detail", args=[batch.pk])).json()
    last_page = api.get(reverse("api-import-errors", args=[batch.pk]), {"page": 21}).json()

    assert len(detail["errors"]) == LISTED_ERRORS
    assert detail["error_count"] == LISTED_ERRORS + 1
    assert last_page["count"] == LISTED_ERRORS + 1
    assert last_page["results"][-1]["row"] == LISTED_ERRORS + 2


def test_an_unknown_import_is_a_404(api):
    assert api.get(reverse("api-import-detail", args=[424242])).status_code == 404
