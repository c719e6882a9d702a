"""Staff pages and API lists that stay fast as the tables grow (audit at 50,000 customers, 1.45 M
ledger lines, 1.1 M invitations).

The survey lists count surveys without joining their invitations and aggregate the progress of the
page's surveys only; every default list order is read from an index instead of sorting the table.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting.models import CostEntry, Customer, RevenueEntry
from surveys.models import Invitation, Response
from surveys.views import SURVEYS_PER_PAGE
from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in ctx.captured_queries]


def _count_queries(sqls, table):
    """The paginator's COUNT(*) of the list whose rows come from `table`."""
    return [sql for sql in sqls if re.match(r"\s*SELECT COUNT\(\*\)", sql, re.I) and f'"{table}"' in sql]


def _indexes(table):
    """Column lists of every index (and unique constraint) of `table`, as the database has them."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [info["columns"] for info in constraints.values() if info["index"] or info["unique"] or info["primary_key"]]


def _order_by_columns(sql, table):
    """The columns of the list query's ORDER BY (of `table`), in order."""
    match = re.search(r"ORDER BY (.*?)(?: LIMIT| OFFSET|$)", sql, re.S)
    assert match, sql
    columns = []
    for part in match.group(1).split(","):
        found = re.match(rf'\s*"{table}"\."(\w+)"', part)
        assert found, f"ORDER BY on something else than {table}: {part!r}"
        columns.append(found.group(1))
    return columns


def _list_query(sqls, table):
    return next(sql for sql in sqls if re.match(rf'\s*SELECT "{table}"\."id"', sql) and "LIMIT" in sql)


def _served_by_an_index(table, order_columns, equal_columns=()):
    """An index of `table` beginning with the equality-filtered columns, then the ORDER BY's first
    column: PostgreSQL reads the first page from it (an incremental sort breaks the ties) instead of
    sorting the whole table."""
    equal = set(equal_columns)
    for columns in _indexes(table):
        head, rest = columns[: len(equal)], columns[len(equal) :]
        if set(head) == equal and rest[:1] == order_columns[:1]:
            return True
    return False


def _first_page_order(client, url, table):
    sqls = _queries(client, url)
    return _order_by_columns(_list_query(sqls, table), table)


# --- The survey lists: surveys counted alone, progress of the page's surveys only -----------------


def _surveys_with_invitations():
    for n in range(3):
        survey = SurveyFactory(name=f"Survey {n}")
        for _ in range(2):
            InvitationFactory(survey=survey)


def test_survey_list_page_counts_surveys_without_joining_invitations(client_as):
    """The paginator's COUNT(*) wrapped a GROUP BY over every invitation (1.1 M: 0.36 s) just to
    count a few dozen surveys."""
    _surveys_with_invitations()
    sqls = _queries(client_as("analyst"), reverse("surveys:survey-list"))
    counts = _count_queries(sqls, "surveys_survey")
    assert counts, sqls
    assert all('"surveys_invitation"' not in sql for sql in counts), counts


def test_survey_api_list_counts_surveys_without_joining_invitations(api_client_as):
    _surveys_with_invitations()
    sqls = _queries(api_client_as("analyst"), "/api/surveys/")
    counts = _count_queries(sqls, "surveys_survey")
    assert counts, sqls
    assert all('"surveys_invitation"' not in sql for sql in counts), counts


def _invitation_queries(sqls):
    return [sql for sql in sqls if '"surveys_invitation"' in sql]


def _surveys_over_two_pages():
    """A full first page of surveys and, on the second page, one with invitations."""
    first = [SurveyFactory(name=f"A{n:03d}") for n in range(SURVEYS_PER_PAGE)]
    InvitationFactory.create_batch(2, survey=first[0])
    later = SurveyFactory(name="Z on page two")
    InvitationFactory.create_batch(3, survey=later)
    return first, later


@pytest.mark.parametrize("url", ["/surveys/", "/api/surveys/"])
def test_survey_lists_aggregate_the_invitations_of_the_page_surveys_only(client_as, api_client_as, url):
    """The page aggregated the invitations of every survey, then showed 50 of them."""
    first, later = _surveys_over_two_pages()
    client = api_client_as("analyst") if url.startswith("/api/") else client_as("analyst")

    (aggregate,) = _invitation_queries(_queries(client, url))

    listed = re.search(r'"surveys_invitation"\."survey_id" IN \(([\d, ]+)\)', aggregate)
    assert listed, aggregate
    assert {int(pk) for pk in listed.group(1).split(",")} == {survey.pk for survey in first}
    assert str(later.pk) not in listed.group(1).split(", ")


def test_the_survey_pages_show_each_survey_progress_after_paginating(client_as, api_client_as):
    first, later = _surveys_over_two_pages()

    page_two = client_as("analyst").get(reverse("surveys:survey-list"), {"page": 2})
    api_page_one = api_client_as("analyst").get("/api/surveys/").json()["results"]

    assert [(s.name, s.progress.audience) for s in page_two.context["page_obj"].object_list] == [(later.name, 3)]
    audiences = {item["name"]: item["progress"]["audience"] for item in api_page_one}
    assert audiences[first[0].name] == 2
    assert audiences[first[1].name] == 0


def test_a_survey_read_alone_from_the_api_still_carries_its_progress(api_client_as):
    survey = SurveyFactory()
    InvitationFactory.create_batch(2, survey=survey)

    body = api_client_as("analyst").get(f"/api/surveys/{survey.pk}/").json()

    assert body["progress"]["audience"] == 2


# --- Default list orders served by an index --------------------------------------------------------


@pytest.mark.parametrize(("url", "model", "factory"), [
    ("/api/revenue/", RevenueEntry, RevenueEntryFactory),
    ("/api/costs/", CostEntry, CostEntryFactory),
])
def test_ledger_api_first_page_is_served_by_an_index(api_client_as, url, model, factory):
    """(-date, -id) has no index (each ledger index would slow the import): the first page sorted
    the whole ledger (1.45 M lines: 0.3-0.4 s). Newest recorded first reads the primary key."""
    factory.create_batch(3)
    table = model._meta.db_table
    order = _first_page_order(api_client_as("analyst"), url, table)
    assert _served_by_an_index(table, order), (order, _indexes(table))


@pytest.mark.parametrize(("url", "model", "factory"), [
    ("/admin/accounting/revenueentry/", RevenueEntry, RevenueEntryFactory),
    ("/admin/accounting/costentry/", CostEntry, CostEntryFactory),
])
def test_admin_ledger_first_page_is_served_by_an_index(client_as, url, model, factory):
    """The admin's ledger lists sorted by the model's (-date, -id): at a million revenue lines
    PostgreSQL sorted the whole ledger, joined to customers, for each page (2.2 s)."""
    factory.create_batch(3)
    table = model._meta.db_table
    sqls = _queries(client_as("admin"), url)
    # Under one page Django's changelist reads the rows without a LIMIT: the ordered list query.
    listed = next(sql for sql in sqls if re.match(rf'\s*SELECT "{table}"\."id"', sql) and "ORDER BY" in sql)
    order = _order_by_columns(listed, table)
    assert _served_by_an_index(table, order), (order, _indexes(table))


@pytest.mark.parametrize(("url", "factory"), [
    ("/api/revenue/", RevenueEntryFactory),
    ("/api/costs/", CostEntryFactory),
])
def test_ledger_api_lists_newest_recorded_first_and_still_orders_by_date_on_request(api_client_as, url, factory):
    older_line = factory(date=dt.date(2025, 6, 30))
    newer_line = factory(date=dt.date(2025, 1, 31))  # recorded later, for an earlier date
    api = api_client_as("analyst")

    by_default = [row["id"] for row in api.get(url).json()["results"]]
    by_date = [row["id"] for row in api.get(url, {"ordering": "-date"}).json()["results"]]

    assert by_default == [newer_line.pk, older_line.pk]
    assert by_date == [older_line.pk, newer_line.pk]


def test_invitation_api_first_page_is_served_by_an_index(api_client_as):
    """GET /api/invitations/ orders by (-created_at, -id), unindexed (1.1 M invitations: 1.0 s)."""
    InvitationFactory.create_batch(3)
    table = Invitation._meta.db_table
    order = _first_page_order(api_client_as("analyst"), "/api/invitations/", table)
    assert _served_by_an_index(table, order), (order, _indexes(table))


def test_responses_api_ordered_by_update_is_served_by_an_index(api_client_as):
    """An incremental pull (`updated_after=…&ordering=updated_at`) reads a range of an index."""
    ResponseFactory.create_batch(3)
    table = Response._meta.db_table
    order = _first_page_order(api_client_as("analyst"), "/api/responses/?ordering=updated_at", table)
    assert _served_by_an_index(table, order), (order, _indexes(table))


@pytest.mark.parametrize(("url", "model", "factory"), [
    ("/api/customers/", Customer, CustomerFactory), ("/api/invitations/", Invitation, InvitationFactory),
])
def test_an_incremental_pull_by_changed_after_is_served_by_an_index(api_client_as, url, model, factory):
    """`changed_after=` lists by (updated_at, id) from the cursor on: a range of an index."""
    factory.create_batch(3)
    table = model._meta.db_table
    order = _first_page_order(api_client_as("analyst"), f"{url}?changed_after=2000-01-01T00:00:00Z,0", table)
    assert order == ["updated_at", "id"]
    assert _served_by_an_index(table, order), (order, _indexes(table))


def test_survey_page_invitations_are_served_by_an_index(client_as):
    """The survey page lists its invitations by (-created_at, -id) WHERE survey_id = …: a survey with
    1 M invitations sorted all of them for every view."""
    survey = SurveyFactory()
    InvitationFactory.create_batch(3, survey=survey)
    table = Invitation._meta.db_table
    url = reverse("surveys:survey-detail", args=[survey.pk])
    order = _first_page_order(client_as("analyst"), url, table)
    assert _served_by_an_index(table, order, equal_columns=["survey_id"]), (order, _indexes(table))
