"""What staff see of NPS on the dashboard and in its CSVs (SPEC §5, §6): the whole sample beside
every figure, the scope of every download, the margin as the trend's band, the touchpoint filter,
and when the live figures were computed."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from reports import nps_formulas as f
from reports.nps import revenue_share_breakdown, revenue_share_trend
from reports.periods import parse_period
from surveys.models import Invitation, InvitationState, SuppressionReason, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
URL = "/reports/nps/"
Q2 = {"period": "2025-Q2"}
FIGURE_TABLES = ["trend", "sample", "segments", "touchpoints", "surveys"]


def answer(survey, score, touchpoint="web", **extra):
    customer = extra.pop("customer", None) or CustomerFactory()
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED, sent_at=WHEN,
                                   touchpoint=touchpoint)
    pay(customer, "2025-05-01", "100.00")
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN, touchpoint=touchpoint, **extra)


@pytest.fixture
def survey():
    """Web: 6 answers (NPS 16.67 ± 59.5), a bounce, an opt-out; respondents hold 600 of 1,000."""
    survey = SurveyFactory(name="Pulse", kind=SurveyKind.RELATIONSHIP)
    for score in (10, 9, 8, 7, 7, 3):
        answer(survey, score)
    InvitationFactory(survey=survey, state=InvitationState.BOUNCED, sent_at=WHEN, touchpoint="web")
    opted_out = InvitationFactory(survey=survey, state=InvitationState.SUPPRESSED, sent_at=None,
                                  suppression_reason=SuppressionReason.OPTED_OUT, touchpoint="web")
    Invitation.objects.filter(pk=opted_out.pk).update(created_at=WHEN)  # never sent: counted when made
    pay(CustomerFactory(), "2025-05-01", "400.00")  # a non-respondent
    return survey


def download(client, **query):
    response = client.get(URL, {**Q2, "format": "csv", **query})
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return response, list(csv.DictReader(io.StringIO(body)))


def row_of(rows, table):
    first = {"trend": "period", "sample": "period", "segments": "segment", "touchpoints": "touchpoint",
             "surveys": "survey"}[table]
    return next(row for row in rows if row[first] in ("2025-Q2", "SMB", "web", "Pulse"))


# --- SPEC §5: every NPS figure carries its whole sample ------------------------------------------


@pytest.mark.parametrize("table", FIGURE_TABLES)
def test_each_nps_csv_carries_the_whole_sample_of_spec_5(survey, client_as, table):
    _, rows = download(client_as("viewer"), table=table)

    row = row_of(rows, table)
    assert row["suppressed"] == row["suppressed_opted_out"] == "1"
    assert {row[f"suppressed_{reason}"] for reason in SuppressionReason.values if reason != "opted_out"} == {"0"}
    assert (row["invited"], row["delivered"], row["bounced"], row["responded"]) == ("8", "6", "1", "6")
    assert row["revenue_share_of_respondents"] == "0.6000"
    assert row["survey_type"] == "relationship"


def test_the_revenue_share_of_each_period_is_the_headlines_in_one_query(survey, django_assert_num_queries):
    periods = [parse_period(text) for text in ("2025-Q1", "2025-Q2", "2025-Q3")]
    with django_assert_num_queries(1):
        shares = revenue_share_trend(periods=periods)
    assert shares == [None, D("0.6"), None]  # no revenue in Q1 and Q3: no share of anything


def test_a_segments_row_holds_its_share_of_that_segments_revenue_in_one_statement(
    survey, django_assert_num_queries
):
    enterprise = CustomerFactory(segment="Enterprise")
    answer(survey, 10, customer=enterprise)  # 100 of the segment's 100 + 300 below
    pay(CustomerFactory(segment="Enterprise"), "2025-05-01", "300.00")
    with django_assert_num_queries(1):
        shares = revenue_share_breakdown(period=parse_period("2025-Q2"), by="segment", groups=["SMB", "Enterprise"])
    assert shares == {"SMB": D("0.6"), "Enterprise": D("0.25")}


def test_a_touchpoints_row_counts_each_respondent_once(survey):
    repeat = CustomerFactory()
    answer(survey, 9, touchpoint="shop", customer=repeat)
    answer(survey, 10, touchpoint="shop", customer=repeat)  # pays 200 in all, counted once
    shares = revenue_share_breakdown(period=parse_period("2025-Q2"), by="touchpoint", groups=["web", "shop", "kiosk"])
    assert shares == {"web": D(600) / 1200, "shop": D(200) / 1200, "kiosk": None}  # kiosk: invited, silent


# --- every CSV states its scope ------------------------------------------------------------------


@pytest.mark.parametrize("table", FIGURE_TABLES)
def test_each_nps_csv_states_its_series_and_counting_rule(survey, client_as, table):
    tx = SurveyFactory(name="Checkout", kind=SurveyKind.TRANSACTIONAL)
    answer(tx, 2, touchpoint="checkout")

    response, rows = download(client_as("viewer"), type="transactional", counting="latest", table=table)

    assert response["Content-Disposition"].endswith(f'filename="nps-{table}-2025-Q2-transactional-latest.csv"')
    assert rows and {(row["survey_type"], row["counting"]) for row in rows} == {("transactional", "latest")}


def test_the_default_csv_names_its_series_and_counting_rule_too(survey, client_as):
    response, _ = download(client_as("viewer"), table="trend")
    assert response["Content-Disposition"].endswith('filename="nps-trend-2025-Q2-relationship-all.csv"')


@pytest.mark.parametrize("table", ["trend", "sample", "distribution", "touchpoints", "surveys", "integrity"])
def test_a_filtered_nps_csv_states_its_segment_touchpoint_and_survey(survey, client_as, table):
    other = SurveyFactory(name="Other", kind=SurveyKind.RELATIONSHIP)
    answer(other, 0, customer=CustomerFactory(segment="Enterprise"), touchpoint="kiosk")

    _, rows = download(client_as("viewer"), segment="Enterprise", survey=other.pk, touchpoint="kiosk", table=table)

    assert rows
    for row in rows:
        assert (row["segment"], row.get("touchpoint", "kiosk")) == ("Enterprise", "kiosk")
        assert row["survey"] in ("Other", str(other.pk))


def test_a_breakdown_csv_leaves_out_the_scope_column_its_rows_name(survey, client_as):
    _, rows = download(client_as("viewer"), table="segments", segment="SMB")
    assert [row["segment"] for row in rows] == ["SMB"]  # one column, the row's segment: the filter's


# --- the HTML tables ----------------------------------------------------------------------------


def sections(html, title):
    return html.split(f'id="{title}"')[1].split("</section>")[0]


def test_trend_and_breakdown_rows_show_bounced_and_responded_beside_their_nps(survey, client_as):
    html = client_as("viewer").get(URL, Q2).content.decode()
    for title in ("trend-title", "breakdown-title"):
        for table in sections(html, title).split("<table>")[1:]:
            head = table.split("</thead>")[0]
            for column in ("Suppressed", "Bounced", "Responded", "Revenue held"):
                assert column in head, f"{title}: {re.sub('<[^>]+>', ' ', head)}"
    web = sections(html, "breakdown-title").split('touchpoint=web">web</a></th>')[1].split("</tr>")[0]
    cells = re.findall(r'<td class="num">(.*?)</td>', web)
    assert cells[6:] == ["8", '<span class="has-detail" title="Opted out: 1">1</span>', "6", "1", "6", "100.0%",
                         "60.0%"]


@pytest.mark.parametrize("scores, shown", [((10, 10, 8, 8, 8, 8, 8, 0), "13"), ((0, 0, 8, 8, 8, 8, 8, 10), "-13")])
def test_trend_and_breakdown_tables_round_half_away_from_zero(client_as, scores, shown):
    survey = SurveyFactory()
    for score in scores:
        answer(survey, score)
    response = client_as("viewer").get(URL, Q2)
    assert response.context["dashboard"].trend[-1][1].nps == D(12.5) * (1 if shown == "13" else -1)
    html = response.content.decode()
    assert f'<td class="num">{shown}</td>' in sections(html, "trend-title")
    assert sections(html, "breakdown-title").count(f'<td class="num">{shown}</td>') >= 3  # segment, touchpoint, survey
    assert f.shown(response.context["dashboard"].current.counts.nps) == int(shown)


# --- SPEC §5: the margin, "a trend chart shows it as a band" -------------------------------------


def band(response):
    high, low, line = response.context["data"]["charts"]["trend"]["data"]
    return low["y"][-1], line["y"][-1], high["y"][-1], low["name"]


def test_the_trend_band_is_the_margin_shown_in_the_table_beside_it(survey, client_as):
    response = client_as("viewer").get(URL, Q2)
    counts = response.context["dashboard"].trend[-1][1]
    nps, margin = float(counts.nps), float(counts.margin_of_error)  # the table reads "17" and "59.5"

    low, line, high, name = band(response)

    assert (low, line, high) == (pytest.approx(nps - margin), pytest.approx(nps), pytest.approx(nps + margin))
    assert "margin of error" in name and "Wald" not in name


def test_the_band_stops_at_the_ends_of_the_scale(client_as):
    survey = SurveyFactory()
    for score in (10, 10, 0):  # 33.3 ± 106.7
        answer(survey, score)
    response = client_as("viewer").get(URL, Q2)
    counts = response.context["dashboard"].trend[-1][1]

    low, _, high, _ = band(response)

    assert (low, high) == (pytest.approx(float(counts.nps - counts.margin_of_error)), 100)


# --- the touchpoint filter ----------------------------------------------------------------------


def test_each_touchpoint_row_links_to_the_page_filtered_to_it(survey, client_as):
    answer(survey, 0, touchpoint="shop & co")
    client = client_as("viewer")
    html = client.get(URL, {**Q2, "counting": "latest"}).content.decode()
    link = re.search(r'<a href="\?([^"]*touchpoint=shop[^"]*)">shop &amp; co</a>', html).group(1)
    assert link == "period=2025-Q2&amp;counting=latest&amp;touchpoint=shop%20%26%20co"

    page = client.get(URL, {**Q2, "counting": "latest", "touchpoint": "shop & co"})
    assert page.context["dashboard"].current.counts.responses == 1
    assert [name for name, _, _ in page.context["dashboard"].breakdowns["touchpoint"]] == ["shop & co"]
    assert "touchpoint shop &amp; co" in page.content.decode().split("</h1>")[0]


def test_under_a_touchpoint_filter_anonymous_verbatims_are_not_listed(client_as):
    named, anonymous = SurveyFactory(), SurveyFactory(anonymous=True)
    answer(named, 9, reason="Named comment")
    answer(anonymous, 2, reason="Anonymous comment")
    client = client_as("admin")

    unfiltered = client.get(URL, Q2)
    filtered = client.get(URL, {**Q2, "touchpoint": "web"})

    assert "Anonymous comment" in unfiltered.content.decode()
    assert "Anonymous comment" not in filtered.content.decode() and "Named comment" in filtered.content.decode()
    assert filtered.context["dashboard"].current.counts.responses == 2  # counted all the same


def test_loyalty_economics_are_not_shown_for_one_touchpoint(survey, client_as):
    html = client_as("viewer").get(URL, {**Q2, "touchpoint": "web"}).content.decode()
    assert 'id="loyalty-title"' not in html and "not broken down by touchpoint" in html


# --- SPEC §6: the page says its figures are live, and since when ---------------------------------


def test_the_nps_dashboard_says_when_its_figures_were_computed(survey, client_as, settings):
    settings.TIME_ZONE = "Europe/Paris"
    response = client_as("admin").get(URL, Q2)
    local = response.context["dashboard"].computed_at.astimezone(ZoneInfo("Europe/Paris"))

    html = response.content.decode()

    assert f"Computed live at {local:%H:%M} on {local:%Y-%m-%d}, Europe/Paris time" in html
    assert "none comes from a snapshot" in html
