"""The Django admin of the accounting app: who gets in, what is read-only, what is audited."""

import datetime as dt
import re

import pytest
from django.contrib import admin as django_admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounting.models import (
    CostEntry,
    Customer,
    ImportBatch,
    ImportRowError,
    OtherReasonAnswer,
    ReasonCategory,
    ReasonRequest,
    RevenueEntry,
)
from accounting.services import other_answer_fingerprint
from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    RevenueEntryFactory,
    UserFactory,
    reason,
)

pytestmark = pytest.mark.django_db

ACCOUNTING_MODELS = [
    Customer, ReasonCategory, OtherReasonAnswer, RevenueEntry, CostEntry, ImportBatch,
    ImportRowError, ReasonRequest,
]


def url(model, view, *args):
    return reverse(f"admin:accounting_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def one_of_each(admin):
    """One row of every accounting model, keyed by model."""
    customer = CustomerFactory(reason=reason("other"), reason_text="Saw you at a fair")
    batch = ImportBatch.objects.create(
        kind="revenue", source="command", filename="bad.csv", status="rejected", error_count=1
    )
    ImportRowError.objects.create(batch=batch, row=3, column="amount", message="Not a number")
    request = ReasonRequest.objects.create(
        customer=customer, token_hash="f" * 64, expires_at=timezone.now() + dt.timedelta(days=3)
    )
    return {
        Customer: customer,
        ReasonCategory: reason("recommendation"),
        OtherReasonAnswer: OtherReasonAnswer.objects.get(pk=customer.pk),
        RevenueEntry: RevenueEntryFactory(customer=customer),
        CostEntry: CostEntryFactory(customer=customer),
        ImportBatch: batch,
        ImportRowError: batch.errors.get(),
        ReasonRequest: request,
    }


def test_every_accounting_model_is_registered():
    for model in ACCOUNTING_MODELS:
        assert django_admin.site.is_registered(model), model


@pytest.mark.parametrize("model", ACCOUNTING_MODELS, ids=lambda m: m.__name__)
def test_it_opens_every_changelist_and_change_page_for_an_admin(admin_client, one_of_each, model):
    obj = one_of_each[model]

    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "changelist"), {"q": "x"}).status_code == 200
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


def test_it_shows_the_history_of_a_reason_category(admin_client):
    response = admin_client.get(url(ReasonCategory, "history", reason("other").pk))

    assert response.status_code == 200
    assert b"seeded by migration" in response.content


def test_a_history_row_without_a_change_reason_shows_no_none(admin_client):
    category = reason("other")
    category.label = "Something else"
    category.save()  # a staff edit: no change reason

    response = admin_client.get(url(ReasonCategory, "history", category.pk))

    assert response.status_code == 200
    rows = re.findall(r"<tr>.*?</tr>", response.content.decode(), re.S)
    changed = next(row for row in rows if "<td>Changed</td>" in row)
    cells = [" ".join(cell.split()) for cell in re.findall(r"<td>(.*?)</td>", changed, re.S)]
    assert cells[6:8] == ["None", ""]  # by nobody (no request: the library's word), no reason given


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_it_redirects_non_staff_roles_away_from_the_admin(client_as, role):
    response = client_as(role).get("/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_it_records_who_changed_a_reason_category_and_from_what(admin_client, admin):
    category = reason("promotion")

    response = admin_client.post(
        url(ReasonCategory, "change", category.pk),
        {"label": category.label, "slug": category.slug, "kind": "earned", "is_active": "on",
         "order": category.order},
    )

    assert response.status_code == 302
    newest, previous = category.history.order_by("-history_date", "-history_id")[:2]
    assert newest.history_user == admin
    delta = newest.diff_against(previous)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("kind", "bought", "earned")]


def test_it_keeps_the_slug_of_a_category_in_use(admin_client):
    category = reason("advertising")
    CustomerFactory(reason=category)

    admin_client.post(
        url(ReasonCategory, "change", category.pk),
        {"label": "Ads", "slug": "ads", "kind": "bought", "is_active": "on", "order": 1},
    )

    category.refresh_from_db()
    assert (category.label, category.slug) == ("Ads", "advertising")


def test_it_lets_the_slug_of_an_unused_category_be_fixed(admin_client):
    category = ReasonCategory.objects.create(label="Podcast", slug="podcst", kind="bought")

    admin_client.post(
        url(ReasonCategory, "change", category.pk),
        {"label": "Podcast", "slug": "podcast", "kind": "bought", "is_active": "on", "order": 1},
    )

    category.refresh_from_db()
    assert category.slug == "podcast"


def test_it_never_deletes_the_other_category(admin_client):
    response = admin_client.get(url(ReasonCategory, "delete", reason("other").pk))

    assert response.status_code == 403


def test_an_analyst_cannot_change_reason_categories_even_as_staff(client):
    client.force_login(UserFactory(role="analyst", is_staff=True))
    category = reason("promotion")

    response = client.post(
        url(ReasonCategory, "change", category.pk),
        {"label": "Hacked", "slug": category.slug, "kind": "earned", "order": 1},
    )

    assert response.status_code == 403
    category.refresh_from_db()
    assert category.kind == "bought"


@pytest.mark.parametrize("model", [RevenueEntry, CostEntry], ids=lambda m: m.__name__)
def test_it_refuses_to_add_change_or_delete_ledger_entries_even_for_a_superuser(
    superuser_client, one_of_each, model
):
    entry = one_of_each[model]

    assert superuser_client.get(url(model, "add")).status_code == 403
    assert superuser_client.post(url(model, "add"), {}).status_code == 403
    response = superuser_client.post(
        url(model, "change", entry.pk),
        {"customer": entry.customer_id, "date": "2025-01-31", "amount": "999.00",
         "external_ref": entry.external_ref},
    )
    assert response.status_code == 403
    assert superuser_client.get(url(model, "delete", entry.pk)).status_code == 403
    assert superuser_client.post(url(model, "delete", entry.pk), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.amount != 999


@pytest.mark.parametrize("model", [RevenueEntry, CostEntry], ids=lambda m: m.__name__)
def test_it_shows_ledger_entries_view_only(superuser_client, one_of_each, model):
    entry = one_of_each[model]

    page = superuser_client.get(url(model, "change", entry.pk))
    changelist = superuser_client.get(url(model, "changelist"))

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert changelist.context["action_form"] is None  # not even "delete selected"


def test_it_shows_an_import_read_only_with_its_errors(superuser_client, one_of_each):
    batch = one_of_each[ImportBatch]

    response = superuser_client.get(url(ImportBatch, "change", batch.pk))

    assert response.status_code == 200
    assert b"Not a number" in response.content
    assert b'name="_save"' not in response.content
    assert superuser_client.get(url(ImportBatch, "add")).status_code == 403
    assert superuser_client.get(url(ImportBatch, "delete", batch.pk)).status_code == 403


def test_it_never_shows_the_token_hash_of_a_reason_request(superuser_client, one_of_each):
    request = one_of_each[ReasonRequest]

    page = superuser_client.get(url(ReasonRequest, "change", request.pk))
    changelist = superuser_client.get(url(ReasonRequest, "changelist"))

    assert page.status_code == changelist.status_code == 200
    for response in (page, changelist):
        assert request.token_hash.encode() not in response.content
        assert b"token hash" not in response.content.lower()
    assert superuser_client.post(url(ReasonRequest, "change", request.pk), {}).status_code == 403


def mapping_post(answer, category_pk):
    return {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000", "form-0-id": str(answer.pk),
        "form-0-reason_mapped_to": str(category_pk), "_save": "Save",
        # What the page showed of the answer (see test_reason_mapping.py).
        "form-0-answer_seen": other_answer_fingerprint(answer.reason_text),
    }


def test_it_maps_an_other_answer_from_the_changelist(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="Google ads")

    response = admin_client.post(
        url(OtherReasonAnswer, "changelist"), mapping_post(answer, reason("advertising").pk)
    )

    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.reason_mapped_to == reason("advertising")
    assert answer.reason_kind == "bought"


def test_it_refuses_to_map_an_answer_onto_other_or_an_inactive_category(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="Google ads")
    retired = ReasonCategory.objects.create(
        label="Retired", slug="retired", kind="earned", is_active=False
    )

    for category in (reason("other"), retired):
        response = admin_client.post(
            url(OtherReasonAnswer, "changelist"), mapping_post(answer, category.pk)
        )
        assert response.status_code == 200  # the list again, with the error
        assert "reason_mapped_to" in response.context["cl"].formset.errors[0]

    answer.refresh_from_db()
    assert answer.reason_mapped_to is None


def test_it_lists_only_other_answers_and_filters_unmapped_ones(admin_client):
    mapped = CustomerFactory(
        reason=reason("other"), reason_text="Fair", reason_mapped_to=reason("salesperson")
    )
    unmapped = CustomerFactory(reason=reason("other"), reason_text="Podcast")
    CustomerFactory(reason=reason("advertising"))

    every = admin_client.get(url(OtherReasonAnswer, "changelist"))
    todo = admin_client.get(url(OtherReasonAnswer, "changelist"), {"mapped": "no"})

    assert {c.pk for c in every.context["cl"].result_list} == {mapped.pk, unmapped.pk}
    assert [c.pk for c in todo.context["cl"].result_list] == [unmapped.pk]


def test_the_other_answers_list_reads_the_categories_once_per_page(admin_client):
    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url(OtherReasonAnswer, "changelist")).status_code == 200
        return len(queries)

    CustomerFactory(reason=reason("other"), reason_text="One")
    few = queries_for_page()
    for n in range(10):
        CustomerFactory(reason=reason("other"), reason_text=f"Answer {n}")

    assert queries_for_page() == few


def test_it_rolls_a_customer_up_when_an_admin_sets_its_parent(admin_client):
    parent = CustomerFactory()
    child = CustomerFactory(segment="SMB", language="en")

    response = admin_client.post(
        url(Customer, "change", child.pk),
        {"external_id": child.external_id, "name": child.name, "email": child.email,
         "language": "en", "segment": "SMB", "parent": parent.pk},
    )

    assert response.status_code == 302
    child.refresh_from_db()
    assert child.entity_id == parent.pk


def test_it_refuses_a_parent_cycle(admin_client):
    parent = CustomerFactory()
    child = CustomerFactory(parent=parent)

    response = admin_client.post(
        url(Customer, "change", parent.pk),
        {"external_id": parent.external_id, "language": "en", "parent": child.pk},
    )

    assert response.status_code == 200
    assert "own ancestor" in str(response.context["adminform"].form.errors)
    parent.refresh_from_db()
    assert parent.parent_id is None


def test_it_refuses_an_inactive_reason_unless_the_customer_has_it_already(admin_client, retired):
    newcomer = CustomerFactory(reason=reason("recommendation"))
    veteran = CustomerFactory(reason=retired)

    refused = admin_client.post(
        url(Customer, "change", newcomer.pk),
        {"external_id": newcomer.external_id, "language": "en", "reason": retired.pk},
    )
    kept = admin_client.post(
        url(Customer, "change", veteran.pk),
        {"external_id": veteran.external_id, "language": "en", "reason": retired.pk, "name": "Renamed"},
    )

    assert refused.status_code == 200
    assert "inactive reason category" in str(refused.context["adminform"].form.errors)
    newcomer.refresh_from_db()
    assert newcomer.reason == reason("recommendation")
    assert kept.status_code == 302
    veteran.refresh_from_db()
    assert (veteran.name, veteran.reason) == ("Renamed", retired)


def test_an_import_page_lists_the_first_errors_and_links_to_all_of_them(admin_client):
    batch = ImportBatch.objects.create(kind="revenue", source="api", status="rejected")
    ImportRowError.objects.bulk_create(
        ImportRowError(batch=batch, row=n, column="amount", message=f"Bad {n}")
        for n in range(2, 252)
    )
    batch.error_count = 250
    batch.save()

    response = admin_client.get(url(ImportBatch, "change", batch.pk))

    assert response.status_code == 200
    (errors_inline,) = response.context["inline_admin_formsets"]
    assert len(errors_inline.formset.forms) == 200
    assert f"?batch__id__exact={batch.pk}".encode() in response.content
    errors = admin_client.get(url(ImportRowError, "changelist"), {"batch__id__exact": batch.pk})
    assert errors.context["cl"].result_count == 250


# --- The "other" category stays unknown (SPEC §2) -----------------------------------------------


def test_the_admin_refuses_to_change_the_kind_of_the_other_category(admin_client):
    other = reason("other")
    data = {"label": other.label, "is_active": "on", "order": other.order}

    refused = admin_client.post(url(ReasonCategory, "change", other.pk), {**data, "kind": "earned"})
    kept = admin_client.post(url(ReasonCategory, "change", other.pk), {**data, "kind": "unknown", "order": 77})

    assert refused.status_code == 200
    assert "stays &#x27;unknown&#x27;" in refused.content.decode()
    assert kept.status_code == 302
    other.refresh_from_db()
    assert (other.kind, other.order) == ("unknown", 77)


def test_the_kind_of_another_category_still_changes_in_the_admin(admin_client):
    category = reason("promotion")
    data = {"label": category.label, "slug": category.slug, "is_active": "on", "order": category.order}

    response = admin_client.post(url(ReasonCategory, "change", category.pk), {**data, "kind": "earned"})

    assert response.status_code == 302
    assert reason("promotion").kind == "earned"
