"""Regressions found by the SPEC audit: a reason sent again or cleared, non-ASCII digits, a late bad byte."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounting.imports import import_file
from accounting.models import Customer, ImportBatch, ImportStatus, RevenueEntry
from accounting.services import customer_set_reason
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

REVENUE_HEADER = "customer,date,amount,external_ref,product"
ANSWERED = timezone.make_aware(dt.datetime(2025, 3, 1, 9))


@pytest.fixture
def mapped_other(db):
    """An "other" answer from the email survey that an admin classed as a recommendation."""
    return CustomerFactory(
        reason=reason("other"), reason_text="my neighbour told me", reason_mapped_to=reason("recommendation"),
        reason_source="email", reason_answered_at=ANSWERED,
    )


def mapping(customer):
    customer.refresh_from_db()
    return (customer.reason_mapped_to, customer.reason_source, customer.reason_answered_at)


# --- The same answer sent again keeps the admin's mapping -----------------------------------------


def test_the_same_answer_sent_again_keeps_the_mapping(mapped_other):
    customer_set_reason(customer=mapped_other, reason=reason("other"), text="my neighbour told me", source="api")

    assert mapping(mapped_other) == (reason("recommendation"), "email", ANSWERED)
    assert mapped_other.reason_kind == "earned"


def test_a_patch_echoing_the_reason_it_read_keeps_the_mapping(api_client_as, mapped_other):
    api = api_client_as("analyst")
    read = api.get(reverse("api-customer-detail", args=[mapped_other.pk])).json()

    response = api.patch(
        reverse("api-customer-detail", args=[mapped_other.pk]),
        {"segment": "Enterprise", "reason": read["reason"], "reason_text": read["reason_text"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["reason_mapped_to"], response.json()["reason_class"]) == ("recommendation", "earned")
    assert mapping(mapped_other) == (reason("recommendation"), "email", ANSWERED)
    assert mapped_other.segment == "Enterprise"


def test_a_patch_of_the_text_alone_is_a_new_answer_to_the_same_reason(api_client_as, mapped_other):
    response = api_client_as("analyst").patch(
        reverse("api-customer-detail", args=[mapped_other.pk]), {"reason_text": "a podcast"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["reason_mapped_to"], response.json()["reason_class"]) == (None, "unknown")
    mapped_other.refresh_from_db()
    assert (mapped_other.reason, mapped_other.reason_text, mapped_other.reason_source) == (
        reason("other"), "a podcast", "api"
    )


@pytest.mark.parametrize(("customer_reason", "text"), [("other", ""), (None, "ads")])
def test_a_patch_of_the_text_alone_is_checked_like_an_answer(api_client_as, customer_reason, text):
    customer = CustomerFactory(reason=reason(customer_reason) if customer_reason else None,
                               reason_text="before" if customer_reason else "")

    response = api_client_as("analyst").patch(
        reverse("api-customer-detail", args=[customer.pk]), {"reason_text": text}, format="json"
    )

    assert response.status_code == 400
    assert "reason_text" in response.json()
    customer.refresh_from_db()
    assert customer.reason_text == ("before" if customer_reason else "")


# --- A reason cleared in the admin is unknown, mapping and all ------------------------------------


def test_clearing_the_reason_in_the_admin_drops_the_mapping(client_as, mapped_other):
    response = client_as("admin").post(
        reverse("admin:accounting_customer_change", args=[mapped_other.pk]),
        {"external_id": mapped_other.external_id, "name": mapped_other.name, "email": mapped_other.email,
         "language": "en", "segment": "SMB", "acquired_on": "2024-01-15", "reason": "", "reason_text": ""},
    )

    assert response.status_code == 302
    assert mapping(mapped_other) == (None, "", None)
    assert (mapped_other.reason, mapped_other.reason_text, mapped_other.reason_kind) == (None, "", "unknown")


def post_reason_in_admin(client, customer, slug, text):
    return client.post(
        reverse("admin:accounting_customer_change", args=[customer.pk]),
        {"external_id": customer.external_id, "name": customer.name, "email": customer.email, "language": "en",
         "segment": "SMB", "acquired_on": "2024-01-15", "reason": reason(slug).pk, "reason_text": text},
    )


@pytest.mark.parametrize(("slug", "text", "kind"), [("advertising", "", "bought"), ("other", "a podcast", "unknown")])
def test_a_reason_changed_in_the_admin_is_a_new_answer_without_the_old_mapping(client_as, mapped_other, slug, text,
                                                                              kind):
    response = post_reason_in_admin(client_as("admin"), mapped_other, slug, text)

    assert response.status_code == 302
    mapped, source, answered_at = mapping(mapped_other)
    assert (mapped, source, mapped_other.reason_kind) == (None, "admin", kind)
    assert answered_at > ANSWERED


def test_the_admin_refuses_a_reason_text_without_a_reason(client_as):
    customer = CustomerFactory(reason=None, reason_text="")

    response = client_as("admin").post(
        reverse("admin:accounting_customer_change", args=[customer.pk]),
        {"external_id": customer.external_id, "name": customer.name, "email": customer.email,
         "language": "en", "segment": "SMB", "acquired_on": "2024-01-15", "reason": "", "reason_text": "ads"},
    )

    assert response.status_code == 200
    assert "Give the reason this text explains" in response.content.decode()
    customer.refresh_from_db()
    assert customer.reason_text == ""


# --- Non-ASCII digits are not digits ----------------------------------------------------------------


def errors(batch: ImportBatch) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in batch.errors.all()]


@pytest.fixture
def known(db):
    return CustomerFactory(external_id="A1")


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("A1,2025-01-31,١٢,R2,", "amount", "'١٢' is not an amount"),
        ("A1,2025-01-31,1١.50,R2,", "amount", "'1١.50' is not an amount"),
        ("A1,٢٠٢٥-٠١-٣١,12.00,R2,", "date", "'٢٠٢٥-٠١-٣١' is not a date in the form YYYY-MM-DD"),
    ],
)
def test_an_import_rejects_non_ascii_digits_with_the_row_and_column(known, line, column, message):
    batch = import_file(
        kind="revenue", file=io.BytesIO(f"{REVENUE_HEADER}\nA1,2025-01-31,5.00,R1,\n{line}\n".encode()),
        source="command",
    )

    assert batch.status == ImportStatus.REJECTED
    [(row, col, text)] = errors(batch)
    assert (row, col) == (3, column)
    assert text.startswith(message)
    assert not RevenueEntry.objects.exists()


def test_the_import_command_rejects_an_amount_in_arabic_indic_digits(known, tmp_path, capsys):
    path = tmp_path / "revenue.csv"
    path.write_text(f"{REVENUE_HEADER}\nA1,2025-01-31,١٢,R1,\n", encoding="utf-8")

    with pytest.raises(CommandError, match="rejected: 1 error"):
        call_command("import_revenue", str(path))

    assert "revenue.csv: row 2, column amount: '١٢' is not an amount" in capsys.readouterr().err
    assert ImportBatch.objects.get().status == ImportStatus.REJECTED
    assert not RevenueEntry.objects.exists()


def test_bulk_revenue_with_arabic_indic_digits_is_a_400(api_client_as, known):
    line = {"customer": "A1", "date": "2025-01-31", "amount": "١٢", "external_ref": "R1", "product": ""}

    response = api_client_as("analyst").post(reverse("api-revenue-list"), [line], format="json")

    assert response.status_code == 400, response.content
    assert response.json()["status"] == "rejected"
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(1, "amount")]
    assert not RevenueEntry.objects.exists()


def test_a_customer_import_rejects_an_acquisition_cost_in_arabic_indic_digits(db):
    header = (
        "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,"
        "acquisition_cost,language"
    )

    batch = import_file(
        kind="customers", file=io.BytesIO(f"{header}\nN1,New,,2024-01-05,,,,,,١٠,en\n".encode()), source="command",
    )

    assert batch.status == ImportStatus.REJECTED
    assert [(row, column) for row, column, _ in errors(batch)] == [(2, "acquisition_cost")]
    assert not Customer.objects.exists()


# --- A byte that is not UTF-8 is reported on its own row -----------------------------------------


def test_a_late_latin1_byte_is_reported_on_its_row(known):
    lines = [REVENUE_HEADER.encode()]
    lines += [f"A1,2025-01-31,1.00,R{row},Plan {row}".encode() for row in range(2, 401)]
    lines[349] = lines[349].replace(b"Plan", b"Pl\xe9n")  # file row 350

    batch = import_file(kind="revenue", file=io.BytesIO(b"\n".join(lines) + b"\n"), source="command")

    assert batch.status == ImportStatus.REJECTED
    assert errors(batch) == [(350, "", "the file is not UTF-8 text")]
    assert not RevenueEntry.objects.exists()
