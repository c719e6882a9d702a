"""A customer deleted while an import of its ledger lines runs, in either order (PostgreSQL).

The ledger has no foreign key and PROTECT sees committed lines only: an admin's delete used to go
through while the import ran, and the import then committed lines of a customer that no longer
existed (the API counted them and listed none; earned growth lost the money). The import now
locks the customers it names; a delete that waited for it is refused by the database once the
lines are in, and the admin shows that refusal as it shows PROTECT's.
"""

from decimal import Decimal

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.db import IntegrityError, connection
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from accounting.imports import import_records
from accounting.models import CostEntry, Customer, ImportStatus, RevenueEntry, RevenueQuarter
from accounting.rollup_sql import refused_for_ledger_lines
from cxplatform.roles import sync_roles
from tests.concurrency import while_first_is_held
from tests.factories import CostEntryFactory, CustomerFactory, RevenueEntryFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections and the trigger"),
]

LINE = {"customer": "C9", "date": "2025-01-01", "amount": "5.00", "external_ref": "x1"}
LEDGERS = [("revenue", RevenueEntry), ("costs", CostEntry)]


@pytest.fixture
def customer():
    return CustomerFactory(external_id="C9")


@pytest.fixture
def admin_client():
    sync_roles()  # a transactional test may start after another one flushed the roles' groups
    client = Client()
    client.force_login(UserFactory(username="alice", role="admin"))
    return client


def importing(kind="revenue"):
    return lambda: import_records(kind=kind, records=[LINE])


def orphans(model):
    return model.objects.exclude(customer_id__in=Customer.objects.values("id"))


@pytest.mark.parametrize(("kind", "model"), LEDGERS)
def test_a_delete_during_the_import_of_the_customers_lines_is_refused_once_they_commit(customer, kind, model):
    outcome = while_first_is_held(importing(kind), lambda: Customer.objects.filter(pk=customer.pk).delete())

    assert outcome.waited  # on the import's lock of the customer
    assert isinstance(outcome.error, IntegrityError) and refused_for_ledger_lines(outcome.error), outcome
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert model.objects.filter(customer=customer).count() == 1
    assert not orphans(model).exists()


def test_the_line_kept_is_listed_by_the_api_and_summed_in_the_roll_up(customer, api_client_as):
    while_first_is_held(importing(), lambda: Customer.objects.filter(pk=customer.pk).delete())

    listed = api_client_as("analyst").get(reverse("api-revenue-list")).json()

    assert (listed["count"], [line["customer"] for line in listed["results"]]) == (1, ["C9"])
    assert RevenueQuarter.objects.aggregate(total=Sum("amount"))["total"] == Decimal("5.00")


@pytest.mark.parametrize(("kind", "model"), LEDGERS)
def test_an_import_naming_a_customer_being_deleted_is_rejected_once_the_delete_commits(customer, kind, model):
    outcome = while_first_is_held(lambda: Customer.objects.filter(pk=customer.pk).delete(), importing(kind))

    batch = outcome.result
    assert outcome.waited and outcome.error is None
    assert batch.status == ImportStatus.REJECTED, batch.message
    assert list(batch.errors.values_list("row", "column", "message")) == [
        (1, "customer", "unknown customer 'C9' (deleted during this import)")
    ]
    assert not model.objects.exists()


def test_a_customer_the_import_does_not_name_is_deleted_without_waiting_for_it(customer):
    other = CustomerFactory()

    outcome = while_first_is_held(importing(), lambda: Customer.objects.filter(pk=other.pk).delete())

    assert not outcome.waited and outcome.error is None
    assert not Customer.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("factory", [RevenueEntryFactory, CostEntryFactory])
def test_the_database_refuses_to_delete_a_customer_with_ledger_lines_by_any_path(customer, factory):
    factory(customer=customer)

    with pytest.raises(IntegrityError) as refused, connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounting_customer WHERE id = %s", [customer.pk])

    assert refused_for_ledger_lines(refused.value)
    assert "customer C9 has ledger lines" in str(refused.value)
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_the_admins_delete_page_names_the_lines_an_import_committed_while_it_waited(customer, admin_client):
    delete = reverse("admin:accounting_customer_delete", args=[customer.pk])

    outcome = while_first_is_held(importing(), lambda: admin_client.post(delete, {"post": "yes"}))

    page = outcome.result
    assert outcome.waited and outcome.error is None, outcome
    assert page.status_code == 200  # PROTECT's refusal page, not a 500 nor a redirect
    assert "x1: 5.00 on 2025-01-01" in str(page.context["protected"])
    assert "<title>Cannot delete customer" in page.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()  # rolled back with the delete


def test_the_admins_bulk_delete_refuses_the_same_way(customer, admin_client):
    changelist = reverse("admin:accounting_customer_changelist")
    confirmed = {"action": "delete_selected", "_selected_action": [customer.pk], "post": "yes"}

    outcome = while_first_is_held(importing(), lambda: admin_client.post(changelist, confirmed))

    page = outcome.result
    assert outcome.waited and outcome.error is None, outcome
    assert page.status_code == 200
    assert "x1: 5.00 on 2025-01-01" in str(page.context["protected"])
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
