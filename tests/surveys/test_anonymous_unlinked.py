"""An anonymous survey's answers are unlinked verbatims (SPEC §1): shown one by one, they carry no
touchpoint, segment or language, and no response filter by touchpoint or segment matches them.
Either would name the author: the invitation list shows each customer with its touchpoint, and a
segment may hold a single customer (a key account). The NPS reports still aggregate by both."""

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.urls import reverse

from surveys.alerts import alert_context, send_detractor_alert, webhook_payload
from surveys.models import InvitationState, Response, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
KEY_SEGMENT, TOUCHPOINT = "Key account ACME", "ticket-closed"
REASON = "We are leaving next quarter"


def _all(api, url, **params):
    rows, page = [], 1
    while True:
        body = api.get(url, {**params, "page": page}).json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


def _answer(survey, *, customer=None, touchpoint="", score=0, reason=REASON):
    customer = customer or CustomerFactory()
    invitation = InvitationFactory(survey=survey, customer=customer, touchpoint=touchpoint,
                                   state=InvitationState.RESPONDED, sent_at=WHEN)
    return ResponseFactory(invitation=invitation, score=score, reason=reason, touchpoint=touchpoint,
                           language="de", answered_at=WHEN)


@pytest.fixture
def survey():
    return SurveyFactory(name="Support pulse", kind=SurveyKind.TRANSACTIONAL, anonymous=True)


@pytest.fixture
def key_answer(survey):
    """The one key account answered, at a touchpoint no other invited customer had."""
    key = CustomerFactory(external_id="KEY-ACCOUNT", segment=KEY_SEGMENT)
    for touchpoint in ("onboarding-call", "renewal"):
        InvitationFactory(survey=survey, customer=CustomerFactory(segment="SMB"), touchpoint=touchpoint)
    return _answer(survey, customer=key, touchpoint=TOUCHPOINT)


@pytest.fixture
def named_answer():
    """A named survey's answer beside it, at the same touchpoint and segment: it keeps both."""
    customer = CustomerFactory(external_id="NAMED-1", segment=KEY_SEGMENT)
    return _answer(SurveyFactory(name="Named pulse", kind=SurveyKind.TRANSACTIONAL), customer=customer,
                   touchpoint=TOUCHPOINT, reason="Named and happy", score=9)


# --- API -----------------------------------------------------------------------------------------


def test_it_does_not_tie_an_answer_to_its_customer_through_the_invitations_touchpoint(api_client_as, survey,
                                                                                        key_answer):
    api = api_client_as("analyst")
    responses = _all(api, reverse("api-response-list"), survey=survey.pk)
    invitations = _all(api, reverse("api-invitation-list"), survey=survey.pk)

    [response] = responses
    assert response["reason"] == REASON and response["score"] == 0
    assert response["touchpoint"] is None and response["language"] is None
    assert not {i["customer"] for i in invitations if i["touchpoint"] == response["touchpoint"]}


def test_it_does_not_tie_an_answer_to_a_one_customer_segment(api_client_as, survey, key_answer):
    api = api_client_as("admin")
    detail = api.get(reverse("api-response-detail", args=[key_answer.pk])).json()

    assert detail["segment"] is None and detail["touchpoint"] is None and detail["language"] is None
    assert detail["reason"] == REASON and detail["answered_at"]


@pytest.mark.parametrize("param, value", [("touchpoint", TOUCHPOINT), ("segment", KEY_SEGMENT)])
def test_the_api_filters_by_touchpoint_and_segment_never_match_anonymous_answers(api_client_as, key_answer,
                                                                                named_answer, param, value):
    rows = _all(api_client_as("analyst"), reverse("api-response-list"), **{param: value})

    assert [row["id"] for row in rows] == [named_answer.pk]
    assert rows[0][param] == value and rows[0]["language"] == "de"


# --- Staff pages and CSV export ------------------------------------------------------------------


def test_the_staff_pages_hide_the_touchpoint_and_segment(client_as, key_answer):
    client = client_as("admin")
    listing = client.get(reverse("surveys:response-list")).content.decode()
    detail = client.get(reverse("surveys:response-detail", args=[key_answer.pk])).content.decode()
    # The segment dropdown lists every customer's segment, answered or not: it ties no answer to one.
    form, rows = listing.split('role="search"', 1)[1].split("</form>", 1)
    assert KEY_SEGMENT in form and TOUCHPOINT not in form  # the touchpoint suggestions skip anonymous answers

    for page in (rows, detail):
        assert REASON in page
        assert TOUCHPOINT not in page and KEY_SEGMENT not in page
        assert "hidden: anonymous survey" in page


def test_the_staff_list_filters_by_touchpoint_and_segment_skip_anonymous_answers(client_as, key_answer,
                                                                                named_answer):
    client = client_as("analyst")
    for params in ({"touchpoint": TOUCHPOINT}, {"segment": KEY_SEGMENT}):
        page = client.get(reverse("surveys:response-list"), params)
        assert [r.pk for r in page.context["page_obj"].object_list] == [named_answer.pk], params


def test_the_csv_export_leaves_the_touchpoint_and_segment_empty(client_as, key_answer, named_answer):
    client = client_as("admin")
    rows = _csv(client.get(reverse("surveys:response-export")))
    anonymous = next(row for row in rows if row["reason"] == REASON)
    named = next(row for row in rows if row["reason"] == "Named and happy")

    assert anonymous["touchpoint"] == "" and anonymous["segment"] == "" and anonymous["score"] == "0"
    assert named["touchpoint"] == TOUCHPOINT and named["segment"] == KEY_SEGMENT
    filtered = _csv(client.get(reverse("surveys:response-export"), {"segment": KEY_SEGMENT}))
    assert [row["reason"] for row in filtered] == ["Named and happy"]


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


# --- Detractor alert -----------------------------------------------------------------------------


def test_the_detractor_alert_carries_no_touchpoint_segment_or_language(survey, key_answer):
    survey.owner = UserFactory(email="owner@staff.example.com", password=None, role="analyst")
    survey.save()
    Response.objects.filter(pk=key_answer.pk).update(alert_due=True)
    response = Response.objects.select_related("survey__owner", "customer", "invitation").get(pk=key_answer.pk)

    payload = webhook_payload(response)
    assert payload["touchpoint"] is None and payload["segment"] is None and payload["language"] is None
    assert payload["reason"] == REASON and payload["score"] == 0
    assert alert_context(response)["touchpoint"] is None

    send_detractor_alert.delay(key_answer.pk)
    [message] = mail.outbox
    for body in (message.subject, message.body, message.alternatives[0][0]):
        assert TOUCHPOINT not in body and KEY_SEGMENT not in body
    assert REASON in message.body


def test_a_named_surveys_alert_keeps_its_touchpoint_and_segment(named_answer):
    payload = webhook_payload(named_answer)
    assert payload["touchpoint"] == TOUCHPOINT and payload["segment"] == KEY_SEGMENT and payload["language"] == "de"


# --- NPS dashboard verbatims ---------------------------------------------------------------------


NPS_URL = "/reports/nps/"
NPS_QUERY = {"period": "2025-Q2", "type": SurveyKind.TRANSACTIONAL}


def test_the_dashboard_verbatims_under_a_segment_filter_skip_anonymous_answers(client_as, key_answer,
                                                                              named_answer):
    client = client_as("viewer")
    page = client.get(NPS_URL, {**NPS_QUERY, "segment": KEY_SEGMENT})
    rows = _csv(client.get(NPS_URL, {**NPS_QUERY, "segment": KEY_SEGMENT, "format": "csv", "table": "verbatims"}))

    assert [r.pk for r in page.context["dashboard"].verbatims] == [named_answer.pk]
    assert REASON not in page.content.decode()
    assert [row["reason"] for row in rows] == ["Named and happy"]
    # The aggregate by segment still counts the anonymous answer (the documented limit).
    assert page.context["dashboard"].current.counts.responses == 2


def test_the_dashboard_verbatims_show_no_touchpoint_or_segment_of_an_anonymous_answer(client_as, key_answer):
    client = client_as("viewer")
    page = client.get(NPS_URL, NPS_QUERY)
    rows = _csv(client.get(NPS_URL, {**NPS_QUERY, "format": "csv", "table": "verbatims"}))

    verbatims = page.content.decode().split("Latest verbatims")[1]
    assert REASON in verbatims and TOUCHPOINT not in verbatims
    [row] = rows
    assert row["reason"] == REASON and row["touchpoint"] == "" and row["segment"] == ""
    assert Response.objects.get(pk=key_answer.pk).touchpoint == TOUCHPOINT  # the column keeps it


def test_the_django_admin_hides_the_touchpoint_segment_and_language(client_as, key_answer):
    client = client_as("admin")
    listing = client.get(reverse("admin:surveys_response_changelist")).content.decode()
    change = client.get(reverse("admin:surveys_response_change", args=[key_answer.pk])).content.decode()

    assert listing.count("(anonymous)") >= 3  # customer, touchpoint and segment columns
    for page in (listing, change):
        assert TOUCHPOINT not in page and KEY_SEGMENT not in page
    assert REASON in change
