"""Walking every page of an API list ordered by a non-unique column lists each row exactly once.
DRF's OrderingFilter replaced the ordering with the client's field alone, so on PostgreSQL ties
came back in a different order for each LIMIT/OFFSET and rows repeated or vanished; the project's
filter ends every ordering with the primary key."""

import datetime as dt
import secrets
from decimal import Decimal

import pytest
from django.db import connection

from accounting.models import Customer, RevenueEntry
from surveys.models import Invitation, InvitationState, Response, Survey

pytestmark = pytest.mark.django_db
# SQLite happens to return ties in rowid order; PostgreSQL (production) does not: the walks below
# need it. test_api_ordering_sql_ends_with_a_unique_key checks the cause on any database.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ties come back in insertion order on SQLite"
)

N = 400


def _walk(api, url):
    seen = []
    while url:
        reply = api.get(url)
        assert reply.status_code == 200, reply.content
        body = reply.json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    return seen


def _customers(n=N):
    rows = [
        Customer(external_id=f"T{i:05d}", name="Same Name", email=f"t{i}@example.com", segment="SMB",
                 acquired_on=dt.date(2024, 1, 1))
        for i in range(n)
    ]
    Customer.objects.bulk_create(rows)
    return list(Customer.objects.order_by("id"))


def _assert_each_once(seen, expected):
    dupes = len(seen) - len(set(seen))
    missing = len(set(expected) - set(seen))
    assert (dupes, missing) == (0, 0), f"{dupes} rows listed twice, {missing} rows never listed over {len(expected)}"


@on_postgresql
@pytest.mark.parametrize("ordering", ["name", "segment", "-acquired_on"])
def test_api_customers_ordering_on_ties_lists_each_row_once(api_client_as, ordering):
    customers = _customers()
    seen = _walk(api_client_as("analyst"), f"/api/customers/?ordering={ordering}")
    _assert_each_once(seen, [c.pk for c in customers])


@on_postgresql
@pytest.mark.parametrize("ordering", ["date", "-amount"])
def test_api_revenue_ordering_on_ties_lists_each_row_once(api_client_as, ordering):
    customers = _customers(20)
    RevenueEntry.objects.bulk_create(
        RevenueEntry(customer=customers[i % 20], date=dt.date(2025, 1, 31), amount=Decimal("100.00"),
                     external_ref=f"X{i:06d}")
        for i in range(N)
    )
    expected = list(RevenueEntry.objects.values_list("id", flat=True))
    seen = _walk(api_client_as("analyst"), f"/api/revenue/?ordering={ordering}")
    _assert_each_once(seen, expected)


@on_postgresql
def test_api_responses_ordering_by_score_lists_each_row_once(api_client_as):
    customers = _customers()
    survey = Survey.objects.create(name="S")
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    invitations = Invitation.objects.bulk_create(
        Invitation(survey=survey, customer=c, email=c.email, token_hash=secrets.token_hex(32),
                   state=InvitationState.RESPONDED, sent_at=now, created_at=now)
        for c in customers
    )
    Response.objects.bulk_create(
        Response(invitation=inv, survey=survey, customer=inv.customer, score=9, category="promoter",
                 answered_at=now)
        for inv in invitations
    )
    expected = list(Response.objects.values_list("id", flat=True))
    seen = _walk(api_client_as("analyst"), "/api/responses/?ordering=-score")
    _assert_each_once(seen, expected)


@on_postgresql
def test_api_invitations_of_one_launch_ordered_by_created_at_lists_each_once(api_client_as):
    """A launch writes its whole audience with one created_at (surveys/launch.py bulk_create)."""
    customers = _customers()
    survey = Survey.objects.create(name="S")
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    Invitation.objects.bulk_create(
        Invitation(survey=survey, customer=c, email=c.email, token_hash=secrets.token_hex(32),
                   state=InvitationState.QUEUED, created_at=now)
        for c in customers
    )
    expected = list(Invitation.objects.values_list("id", flat=True))
    seen = _walk(api_client_as("analyst"), f"/api/invitations/?survey={survey.pk}&ordering=created_at")
    _assert_each_once(seen, expected)


@pytest.mark.parametrize("url, table", [
    ("/api/customers/?ordering=name", "accounting_customer"),
    ("/api/customers/?ordering=-acquired_on", "accounting_customer"),
    ("/api/revenue/?ordering=date", "accounting_revenueentry"),
    ("/api/costs/?ordering=amount", "accounting_costentry"),
    ("/api/responses/?ordering=score", "surveys_response"),
    ("/api/invitations/?ordering=created_at", "surveys_invitation"),
    ("/api/invitations/?ordering=sent_at", "surveys_invitation"),
])
def test_api_ordering_sql_ends_with_a_unique_key(api_client_as, url, table):
    """A client's ordering needs the primary key after it, as every default ordering has."""
    from django.test.utils import CaptureQueriesContext

    from tests.factories import CostEntryFactory, ResponseFactory, RevenueEntryFactory

    response = ResponseFactory()
    RevenueEntryFactory(customer=response.customer)
    CostEntryFactory(customer=response.customer)
    api = api_client_as("analyst")
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    listing = [q["sql"] for q in ctx.captured_queries if "ORDER BY" in q["sql"] and f'FROM "{table}"' in q["sql"]]
    assert listing, ctx.captured_queries
    order_by = listing[-1].rsplit("ORDER BY", 1)[1].split("LIMIT")[0]
    assert f'"{table}"."id"' in order_by, f"{url}: ORDER BY{order_by}"
