"""NPS report defects found by audit, each pinned: a negative zero shown, 20 % flagged as under
20 %, verbatims never read by the solicited-scores flag, a past segment refused by the dashboard,
4-place figures rounded half to even."""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from reports import nps_formulas as f
from reports.integrity import VERBATIM_LIMIT, _solicited_scores, integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from reports.segments import nps_segments
from surveys.models import Invitation, InvitationState, Response, SurveyKind, hash_token, token_from_salt
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

WHEN = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
Q2 = parse_period("2025-Q2")
URL = reverse("reports:nps")


def _with_token(invitation):
    invitation.token_hash = hash_token(token_from_salt(invitation.token_salt))
    return invitation


def bulk_invitations(survey, customer, n, *, state, when=WHEN):
    return Invitation.objects.bulk_create(
        _with_token(Invitation(survey=survey, customer=customer, email=customer.email, state=state, sent_at=when,
                               expires_at=when + dt.timedelta(days=30), segment=customer.segment))
        for _ in range(n)
    )


def bulk_answers(survey, scores, *, reason="", when=WHEN):
    """Many answers fast: one customer, bulk-created invitations and responses."""
    customer = CustomerFactory()
    invitations = bulk_invitations(survey, customer, len(scores), state=InvitationState.RESPONDED, when=when)
    responses = []
    for invitation, score in zip(invitations, scores, strict=True):
        response = Response(invitation=invitation, survey=survey, customer=customer, score=score,
                            answered_at=when, reason=reason, segment=customer.segment)
        response.category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        responses.append(response)
    Response.objects.bulk_create(responses)


@pytest.fixture
def survey(db):
    return SurveyFactory(kind=SurveyKind.RELATIONSHIP)


def flag(code, report=None):
    return {flag.code: flag for flag in integrity_flags(report or nps_report(period=Q2))}[code]


# --- Never a negative zero ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("exact", "places", "text"),
    [("-0.4975", 0, "0"), ("-0.5", 0, "-1"), ("-0.04", 1, "0.0"), ("-0.05", 1, "-0.1"), ("-0.00004", 4, "0.0000")],
)
def test_a_figure_that_rounds_to_zero_is_shown_without_a_minus_sign(exact, places, text):
    assert str(f.shown(Decimal(exact), places)) == text


@pytest.fixture
def just_below_zero(survey):
    bulk_answers(survey, [10] * 100 + [0] * 101)  # NPS -0.4975


def test_the_command_never_prints_an_nps_of_minus_zero(just_below_zero):
    out = StringIO()
    call_command("nps", "2025-Q2", stdout=out)
    nps_line = next(line for line in out.getvalue().splitlines() if line.split()[:1] == ["NPS"]
                    and len(line.split()) == 2)
    assert nps_line.split() == ["NPS", "0"]


def test_the_dashboard_headline_never_shows_an_nps_of_minus_zero(just_below_zero, client_as):
    html = client_as("viewer").get(URL, {"period": "2025-Q2"}).content.decode()
    assert '<p class="nps-big">0</p>' in html and '<p class="nps-big">-0</p>' not in html


# --- 4 places, rounded half away from zero ---------------------------------------------------------

@pytest.mark.parametrize(("exact", "quantized"), [("0.78125", "0.7813"), ("-0.78125", "-0.7813"),
                                                  ("0.78124", "0.7812")])
def test_four_place_figures_round_half_away_from_zero(exact, quantized):
    assert str(f.quantized(Decimal(exact))) == quantized


def test_the_json_nps_rounds_half_away_from_zero(survey):
    bulk_answers(survey, [10] + [8] * 127)  # 1 promoter in 128 answers: NPS 0.78125
    out = StringIO()
    call_command("nps", "2025-Q2", "--json", stdout=out)
    assert json.loads(out.getvalue())["nps"] == "0.7813"


# --- A response rate of exactly 20 % is not under 20 % --------------------------------------------

def test_a_response_rate_of_exactly_20_percent_is_not_flagged(survey):
    bulk_answers(survey, [10] * 20)
    bulk_invitations(survey, CustomerFactory(), 80, state=InvitationState.SENT)
    report = nps_report(period=Q2)
    assert report.sample.response_rate == Decimal("0.2")  # 20 of 100 delivered
    low = flag("low_response_rate", report)
    assert not low.raised and low.detail.startswith("20.0% of 100 delivered invitations")


def test_a_response_rate_just_under_20_percent_is_flagged(survey):
    bulk_answers(survey, [10] * 19)
    bulk_invitations(survey, CustomerFactory(), 81, state=InvitationState.SENT)
    assert flag("low_response_rate").raised


# --- The solicited-scores flag reads every verbatim of the period --------------------------------

def test_the_solicited_flag_reads_an_old_verbatim_behind_thousands_of_newer_hinted_ones(survey):
    # Each newer verbatim holds a hint word ("asked") without asking for a score: all are read.
    bulk_answers(survey, [10], reason="The salesperson asked me to give a 10", when=WHEN - dt.timedelta(days=5))
    bulk_answers(survey, [8] * 5000, reason="The price is fair, I was asked nothing")
    solicited = flag("solicited_scores")
    assert solicited.raised and solicited.detail.startswith("1 verbatim(s)") and len(solicited.links) == 1


def test_the_solicited_flag_counts_every_match_and_quotes_the_newest_up_to_its_limit(survey):
    bulk_answers(survey, [10] * 30, reason="Old: they asked me for a 10", when=WHEN - dt.timedelta(days=5))
    bulk_answers(survey, [9] * 5, reason="New: they asked me for a 10")
    solicited = flag("solicited_scores")
    assert solicited.detail.startswith("35 verbatim(s)")
    assert len(solicited.links) == VERBATIM_LIMIT
    assert [label.split(":")[1].strip() for label, _ in solicited.links[:6]] == ["“New"] * 5 + ["“Old"]


def test_the_solicited_flag_reads_the_verbatims_in_one_query(survey, django_assert_num_queries):
    bulk_answers(survey, [10] * 50, reason="They asked me to give a 10")
    report = nps_report(period=Q2)
    with django_assert_num_queries(1):
        assert _solicited_scores(report).raised


# --- The dashboard offers the past segments the command and the API report ------------------------

def test_the_dashboard_reports_a_past_segment_as_the_api_does(survey, client_as, api_client_as):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN, segment="Retired")
    response = ResponseFactory(invitation=invitation, score=10, answered_at=WHEN, segment="Retired")
    response.customer.segment = "SMB"
    response.customer.save()
    api = api_client_as("viewer").get("/api/reports/nps/", {"period": "2025-Q2", "segment": "Retired"})
    assert api.status_code == 200 and api.json()["promoters"] == 1
    page = client_as("viewer").get(URL, {"period": "2025-Q2", "segment": "Retired"})
    assert page.status_code == 200 and page.context["dashboard"].current.counts.promoters == 1


@pytest.mark.django_db
def test_the_segment_choices_are_the_customers_and_the_past_one_asked_for_only():
    customer = CustomerFactory(segment="SMB")
    InvitationFactory(customer=customer, segment="Mid-market")
    invited_then = InvitationFactory(customer=customer, segment="SMB")
    ResponseFactory(invitation=invited_then, segment="Enterprise")
    CustomerFactory(segment="")
    assert nps_segments() == ["SMB"]
    assert nps_segments("Enterprise") == ["Enterprise", "SMB"]
    assert nps_segments("Mid-market") == ["Mid-market", "SMB"]
    assert nps_segments("Nobody") == ["SMB"]
