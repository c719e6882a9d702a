"""Reason categories: everyone with access reads them; only admins add or edit them, audited."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import ReasonCategory
from tests.factories import reason

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api-reason-category-list")


def detail_url(slug):
    return reverse("api-reason-category-detail", args=[slug])


def token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
    return api


def test_categories_are_listed_in_their_order_with_their_kind(api_client_as):
    body = api_client_as("analyst").get(LIST_URL).json()

    slugs = [c["slug"] for c in body["results"]]
    assert slugs == list(ReasonCategory.objects.values_list("slug", flat=True))
    assert {"recommendation", "advertising", "other"} <= set(slugs)
    assert next(c for c in body["results"] if c["slug"] == "returning")["kind"] == "earned"


def test_a_category_is_found_by_its_slug(api_client_as):
    body = api_client_as("analyst").get(detail_url("advertising")).json()

    assert (body["slug"], body["kind"]) == ("advertising", "bought")


def test_an_admin_adds_a_category_and_the_change_is_audited(admin):
    api = token_client(admin)
    payload = {"slug": "partner", "label": "Through a partner", "kind": "earned", "order": 9}

    response = api.post(LIST_URL, payload, format="json")

    assert response.status_code == 201, response.content
    category = ReasonCategory.objects.get(slug="partner")
    assert (category.label, category.kind, category.is_active) == (
        "Through a partner", "earned", True,
    )
    assert category.history.get().history_user == admin


def test_an_admin_relabels_and_deactivates_a_category(admin):
    api = token_client(admin)

    response = api.patch(
        detail_url("promotion"), {"label": "Discount", "is_active": False}, format="json"
    )

    assert response.status_code == 200, response.content
    category = reason("promotion")
    assert (category.label, category.is_active) == ("Discount", False)
    latest = category.history.first()
    assert latest.history_user == admin
    assert latest.prev_record.label != "Discount"


def test_the_slug_of_a_category_cannot_change(api_client_as):
    response = api_client_as("admin").patch(
        detail_url("advertising"), {"slug": "ads"}, format="json"
    )

    assert response.status_code == 400
    assert "slug" in response.json()
    assert ReasonCategory.objects.filter(slug="advertising").exists()


def test_an_unknown_kind_is_refused(api_client_as):
    payload = {"slug": "magic", "label": "Magic", "kind": "free"}

    response = api_client_as("admin").post(LIST_URL, payload, format="json")

    assert response.status_code == 400
    assert "kind" in response.json()


def test_an_analyst_cannot_edit_a_category(api_client_as):
    response = api_client_as("analyst").patch(
        detail_url("advertising"), {"kind": "earned"}, format="json"
    )

    assert response.status_code == 403
    assert reason("advertising").kind == "bought"


def test_an_unknown_slug_is_a_404(api_client_as):
    assert api_client_as("analyst").get(detail_url("nope")).status_code == 404


# --- The "other" category stays unknown (SPEC §2) -----------------------------------------------


@pytest.mark.parametrize("kind", ["earned", "bought"])
def test_the_kind_of_the_other_category_cannot_change(api_client_as, kind):
    api = api_client_as("admin")

    response = api.patch(detail_url("other"), {"kind": kind}, format="json")

    assert response.status_code == 400
    assert "unknown" in response.json()["kind"][0]
    assert reason("other").kind == "unknown"


def test_the_other_category_is_edited_otherwise_as_any_other(api_client_as):
    response = api_client_as("admin").patch(detail_url("other"), {"label": "Something else", "kind": "unknown"},
                                            format="json")

    assert response.status_code == 200, response.content
    assert (reason("other").label, reason("other").kind) == ("Something else", "unknown")


# --- Paging (an audit found ties between pages) --------------------------------------------------


def test_the_list_ordering_ends_with_a_unique_key(api_client_as):
    ReasonCategory.objects.create(label="Same", slug="same-a", kind="earned")
    api = api_client_as("analyst")

    with CaptureQueriesContext(connection) as ctx:
        assert api.get(LIST_URL).status_code == 200

    listing = [q["sql"] for q in ctx.captured_queries
               if 'FROM "accounting_reasoncategory"' in q["sql"] and "ORDER BY" in q["sql"]]
    assert listing
    order_by = listing[-1].rsplit("ORDER BY", 1)[1].split("LIMIT")[0]
    assert '"accounting_reasoncategory"."id"' in order_by, order_by


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ties come back in insertion order on SQLite")
def test_every_page_lists_each_category_once(api_client_as):
    ReasonCategory.objects.bulk_create(
        ReasonCategory(label="Partner channel", slug=f"partner-{i}", kind="bought", order=5) for i in range(400)
    )
    api = api_client_as("analyst")
    seen, url = [], LIST_URL

    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    expected = set(ReasonCategory.objects.values_list("id", flat=True))
    assert (len(seen) - len(set(seen)), len(expected - set(seen))) == (0, 0)
