"""The responses list's filter choices cost the same whatever the number of answers, and the CSV
export computes none of them.

They were two SELECT DISTINCT over every answer on each view of /responses/ (0.6 s each at
3,000,000 answers on PostgreSQL) and on each CSV export. Now the segment dropdown lists customers'
segments (as the NPS dashboard's, reports/segments.py), and the touchpoint is typed, suggested from
the latest answers only.
"""

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounting.models import Customer
from surveys import selectors
from surveys.models import Invitation, InvitationState, Response
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("surveys:response-list")
EXPORT_URL = reverse("surveys:response-export")


def _responses(survey, customer, n, start):
    invitations = Invitation.objects.bulk_create(
        Invitation(survey=survey, customer=customer, email=customer.email, token_hash=f"{start + i:064x}",
                   state=InvitationState.RESPONDED)
        for i in range(n)
    )
    Response.objects.bulk_create(
        Response(invitation=inv, survey=survey, customer=customer, score=7, category="passive",
                 touchpoint=f"tp{i % 3}", segment="SMB")
        for i, inv in enumerate(invitations)
    )


def _rows_read_from_responses(sql, params):
    """Rows every plan node scanning surveys_response returned, from EXPLAIN ANALYZE."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node):
        scans_responses = node.get("Relation Name") == "surveys_response"
        own = node["Actual Rows"] * node.get("Actual Loops", 1) if scans_responses else 0
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


def _choices_rows_read():
    with CaptureQueriesContext(connection) as ctx:
        selectors.response_touchpoint_suggestions()
        selectors.response_segments()
    # The captured SQL has its parameters inlined; it runs as is.
    return sum(_rows_read_from_responses(q["sql"], None) for q in ctx.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN ANALYZE row counts of PostgreSQL")
def test_the_filter_choices_read_as_many_answers_whatever_their_number(monkeypatch):
    monkeypatch.setattr(selectors, "TOUCHPOINT_SUGGESTIONS_FROM", 50)
    survey, customer = SurveyFactory(), CustomerFactory()
    with connection.cursor() as cursor:
        # A few hundred rows are cheaper to scan than to read by index: plan as for millions.
        cursor.execute("SET LOCAL enable_seqscan = off")

    _responses(survey, customer, 300, 0)
    few = _choices_rows_read()
    _responses(survey, customer, 1200, 10_000)
    many = _choices_rows_read()

    assert many == few <= 50, f"the choices read {few} answers at 300 answers, {many} at 1,500"


def _page_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
        content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, content[:500]
    return [q["sql"] for q in ctx.captured_queries], content.decode("utf-8-sig")


def test_the_list_reads_answers_only_for_its_count_and_its_page(client_as):
    ResponseFactory.create_batch(3, invitation__survey=SurveyFactory(), touchpoint="web")
    queries, _ = _page_queries(client_as("analyst"), LIST_URL)

    unbounded = [sql for sql in queries if '"surveys_response"' in sql
                 and not sql.startswith("SELECT COUNT(*)") and " LIMIT " not in sql]
    assert not unbounded, unbounded


def test_the_csv_export_computes_no_filter_choices(client_as):
    CustomerFactory(segment="SMB")
    ResponseFactory(invitation__survey=SurveyFactory(), invitation__customer__segment="SMB", touchpoint="web")
    queries, content = _page_queries(client_as("analyst"), EXPORT_URL, {"touchpoint": "web", "segment": "SMB"})

    assert not [sql for sql in queries if sql.startswith("SELECT DISTINCT")]
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [(row["touchpoint"], row["segment"]) for row in rows] == [("web", "SMB")]


def test_a_new_touchpoint_is_suggested_as_soon_as_it_is_answered(client_as):
    client = client_as("analyst")
    ResponseFactory(invitation__survey=SurveyFactory(), touchpoint="web")
    ResponseFactory(invitation__survey=SurveyFactory(anonymous=True), touchpoint="hidden-desk")
    assert client.get(LIST_URL).context["touchpoints"] == ["web"]

    ResponseFactory(invitation__survey=SurveyFactory(), touchpoint="checkout")
    page = client.get(LIST_URL)

    assert page.context["touchpoints"] == ["checkout", "web"]  # not the anonymous survey's
    assert '<datalist id="touchpoint-suggestions"><option value="checkout"><option value="web"></datalist>' in (
        page.content.decode()
    )


def test_a_touchpoint_no_longer_suggested_is_still_typed(client_as, monkeypatch):
    monkeypatch.setattr(selectors, "TOUCHPOINT_SUGGESTIONS_FROM", 1)
    survey = SurveyFactory()
    last_year = dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
    old = ResponseFactory(invitation__survey=survey, touchpoint="store-12", answered_at=last_year)
    ResponseFactory(invitation__survey=survey, touchpoint="web")

    page = client_as("analyst").get(LIST_URL, {"touchpoint": "store-12"})

    assert page.context["touchpoints"] == ["web"]
    assert [r.pk for r in page.context["page_obj"].object_list] == [old.pk]


def _segments_offered(page):
    return [value for value, _ in page.context["form"].fields["segment"].widget.choices]


def test_the_segments_are_the_customers_and_a_past_one_asked_for(client_as):
    moved = CustomerFactory(segment="Enterprise")
    answer = ResponseFactory(invitation__survey=SurveyFactory(), invitation__customer=moved)
    Customer.objects.filter(pk=moved.pk).update(segment="SMB")
    CustomerFactory(segment="Mid-market")  # nobody in it answered: listed all the same
    client = client_as("analyst")

    assert _segments_offered(client.get(LIST_URL)) == ["", "Mid-market", "SMB"]
    past = client.get(LIST_URL, {"segment": "Enterprise"})
    assert _segments_offered(past) == ["", "Enterprise", "Mid-market", "SMB"]
    assert '<option value="Enterprise" selected>' in past.content.decode()
    assert [r.pk for r in past.context["page_obj"].object_list] == [answer.pk]


def test_a_segment_nobody_has_is_refused_on_the_list_and_the_export(client_as):
    CustomerFactory(segment="SMB")
    ResponseFactory(invitation__survey=SurveyFactory())
    client = client_as("analyst")

    page = client.get(LIST_URL, {"segment": "Gone"})
    export = client.get(EXPORT_URL, {"segment": "Gone"})

    assert page.status_code == 200 and "No customer or answer is in segment" in page.content.decode()
    assert len(page.context["page_obj"].object_list) == 1  # the bad filter is dropped
    assert export.status_code == 400
