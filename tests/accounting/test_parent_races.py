"""Two writes to the tree of parents at the same moment (PostgreSQL): no parent cycle is stored,
and a customer created under a parent that moves meanwhile rolls up to its new top.

Each write checks or reads the tree under the lock every move of customers between entities
takes, inside its own transaction, so the second sees what the first committed."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounting.imports import import_records
from accounting.models import Customer, ImportStatus, ReasonCategory
from tests.concurrency import token_api_clients, while_first_is_held
from tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections and the advisory lock"),
]


@pytest.fixture
def api():
    return token_api_clients("analyst")


@pytest.fixture
def admin_site(admin):
    def make():
        client = Client()
        client.force_login(admin)
        return client

    return make


def outcome_of(stored: bool, refused: bool, detail) -> str:
    return "stored" if stored else "refused" if refused else f"failed: {detail}"


@pytest.fixture
def writers(api, admin_site):
    """Ways to set `customer.parent` to the customer `parent_id`: each says whether it was stored,
    refused as a cycle, or failed otherwise (a deadlock, say)."""

    def by_api(customer, parent_id):
        response = api().patch(reverse("api-customer-detail", args=[customer.pk]), {"parent": parent_id}, format="json")
        refused = response.status_code == 400 and "own ancestor" in str(response.json())
        return outcome_of(response.status_code == 200, refused, response.status_code)

    def by_admin(customer, parent_id):
        parent = Customer.objects.get(external_id=parent_id)
        form = {"external_id": customer.external_id, "language": "en", "parent": parent.pk}
        response = admin_site().post(reverse("admin:accounting_customer_change", args=[customer.pk]), form)
        refused = response.status_code == 200 and "own ancestor" in str(response.context["adminform"].form.errors)
        return outcome_of(response.status_code == 302, refused, response.status_code)

    # A transactional test may start after another one flushed the seeded categories.
    ReasonCategory.objects.get_or_create(slug=ReasonCategory.OTHER_SLUG, defaults={"label": "Other", "kind": "unknown"})

    def by_import(customer, parent_id):
        batch = import_records(kind="customers", records=[{"external_id": customer.external_id, "parent": parent_id}])
        refused = batch.status == ImportStatus.REJECTED and "parent cycle" in str(list(batch.errors.all()))
        return outcome_of(batch.status == ImportStatus.SUCCEEDED, refused, batch.message)

    return {"api": by_api, "admin": by_admin, "import": by_import}


def outcome_into(results, writer, customer, parent_id):
    return lambda: results.append(writer(customer, parent_id))


@pytest.mark.parametrize(
    ("first", "second"),
    [("api", "api"), ("admin", "api"), ("api", "admin"), ("import", "api"), ("api", "import")],
)
def test_two_parent_edits_at_once_cannot_make_a_parent_cycle(writers, first, second):
    """A under B and B under A, sent together: each used to pass against the tree as it was, and
    both were stored (a cycle, which the roll-up's walk then never reaches)."""
    a, b = CustomerFactory(external_id="A"), CustomerFactory(external_id="B")
    first_outcome = []

    outcome = while_first_is_held(outcome_into(first_outcome, writers[first], a, "B"), lambda: writers[second](b, "A"))

    assert first_outcome == ["stored"]
    assert outcome.error is None, outcome.error
    assert outcome.waited  # for the first's commit, then judged against its parent
    assert outcome.result == "refused"
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.parent_id, b.parent_id) == (b.pk, None)
    assert a.entity_id == b.pk


def test_the_api_says_why_it_refused_the_second_edit(api):
    a, b = CustomerFactory(external_id="A"), CustomerFactory(external_id="B")

    outcome = while_first_is_held(
        lambda: api().patch(reverse("api-customer-detail", args=[a.pk]), {"parent": "B"}, format="json"),
        lambda: api().patch(reverse("api-customer-detail", args=[b.pk]), {"parent": "A"}, format="json"),
    )

    assert outcome.result.status_code == 400
    assert outcome.result.json() == {"parent": ["A customer cannot be its own ancestor."]}


def create_child(api):
    return lambda: api().post(reverse("api-customer-list"), {"external_id": "C", "parent": "P"}, format="json")


def move_parent(api, parent):
    return lambda: api().patch(reverse("api-customer-detail", args=[parent.pk]), {"parent": "Q"}, format="json")


def test_a_customer_created_under_a_parent_that_moves_meanwhile_rolls_up_to_the_new_top(api):
    """The move used to walk the tree before the new customer was committed and never saw it: the
    customer kept the parent's old entity."""
    top, parent = CustomerFactory(external_id="Q"), CustomerFactory(external_id="P")

    outcome = while_first_is_held(create_child(api), move_parent(api, parent))

    assert outcome.waited
    assert outcome.result.status_code == 200
    assert Customer.objects.get(external_id="C").entity_id == top.pk


def test_a_customer_created_while_its_parent_moves_reads_the_parents_new_entity(api):
    """The create used to copy the parent's entity as read before the move committed."""
    top, parent = CustomerFactory(external_id="Q"), CustomerFactory(external_id="P")

    outcome = while_first_is_held(move_parent(api, parent), create_child(api))

    assert outcome.waited
    assert outcome.result.status_code == 201
    assert outcome.result.json()["entity"] == "Q"
    assert Customer.objects.get(external_id="C").entity_id == top.pk
