"""One NPS question answered on every door (dashboard CSVs, API, command, responses list and
export, survey pages) gives one number: repeat and anonymous respondents, an edited answer, a
segment changed after answering, answers at quarter ends in the company time zone."""

import csv
import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command

from surveys.models import InvitationState, SuppressionReason
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _answer(survey, customer, when, score, touchpoint="", **kw):
    invitation = InvitationFactory(survey=survey, customer=customer, state=InvitationState.RESPONDED,
                                   sent_at=when - dt.timedelta(hours=2), touchpoint=touchpoint, **kw)
    return ResponseFactory(invitation=invitation, score=score, answered_at=when, touchpoint=touchpoint)


@pytest.fixture
def data(settings):
    settings.TIME_ZONE = "Europe/Paris"
    s = {
        "pulse": SurveyFactory(name="Pulse"), "annual": SurveyFactory(name="Annual"),
        "secret": SurveyFactory(name="Secret", anonymous=True),
        "order": SurveyFactory(name="Order", kind="transactional"),
    }
    c = [CustomerFactory(external_id=f"C{n}", segment=["SMB", "Enterprise", "Mid"][n % 3]) for n in range(10)]
    _answer(s["pulse"], c[0], dt.datetime(2025, 4, 10, 9, tzinfo=UTC), 10, "web")
    _answer(s["annual"], c[0], dt.datetime(2025, 5, 20, 9, tzinfo=UTC), 3, "phone")
    _answer(s["pulse"], c[1], dt.datetime(2025, 3, 31, 22, 30, tzinfo=UTC), 9, "web")  # Q2 in Paris
    _answer(s["pulse"], c[2], dt.datetime(2025, 6, 30, 22, 30, tzinfo=UTC), 2, "web")  # Q3 in Paris
    _answer(s["annual"], c[3], dt.datetime(2025, 6, 30, 21, 30, tzinfo=UTC), 7, "store")  # Q2 in Paris
    _answer(s["secret"], c[5], dt.datetime(2025, 5, 1, 9, tzinfo=UTC), 10, "web")
    _answer(s["pulse"], c[5], dt.datetime(2025, 5, 2, 9, tzinfo=UTC), 5, "web")
    _answer(s["order"], c[4], dt.datetime(2025, 5, 3, 9, tzinfo=UTC), 8, "checkout")
    _answer(s["pulse"], c[4], dt.datetime(2025, 1, 15, 9, tzinfo=UTC), 6, "web")
    edited = _answer(s["pulse"], c[6], dt.datetime(2025, 4, 22, 9, tzinfo=UTC), 4, "phone")
    edited.score = 9
    edited.save()
    _answer(s["annual"], c[9], dt.datetime(2025, 4, 20, 9, tzinfo=UTC), 9, "store")
    c[9].segment = "Enterprise"
    c[9].save()
    InvitationFactory(survey=s["pulse"], customer=c[7], sent_at=dt.datetime(2025, 4, 3, 9, tzinfo=UTC))
    InvitationFactory(survey=s["annual"], customer=c[7], state=InvitationState.BOUNCED,
                      sent_at=dt.datetime(2025, 4, 3, 9, tzinfo=UTC))
    InvitationFactory(survey=s["pulse"], customer=c[8], state=InvitationState.SUPPRESSED, sent_at=None,
                      suppression_reason=SuppressionReason.THROTTLED)
    return s, c


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")
                                           if response.streaming else response.content.decode("utf-8-sig"))))


def _command(*args):
    out = StringIO()
    call_command("nps", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _keys(d):
    return {k: int(d[k]) for k in ("responses", "promoters", "passives", "detractors")}


LIST = "/responses/?kind=relationship&date_from=2025-04-01&date_to=2025-06-30"


@pytest.mark.parametrize("counting", ["all", "latest"])
@pytest.mark.parametrize("scope", ["", "survey:pulse", "survey:annual", "segment=SMB", "segment=Enterprise",
                                   "touchpoint=web", "touchpoint=store", "type=transactional"])
def test_headline_agrees_across_api_command_and_dashboard_csv(data, client, analyst, api_client_as, scope, counting):
    s, _ = data
    if scope.startswith("survey:"):
        scope = f"survey={s[scope.split(':')[1]].pk}"
    client.force_login(analyst)
    query = f"period=2025-Q2&counting={counting}" + (f"&{scope}" if scope else "")
    api = _keys(api_client_as("analyst").get(f"/api/reports/nps/?{query}").json())
    dash = _keys(_csv(client.get(f"/reports/nps/?{query}&format=csv&table=sample"))[0])
    args = ["2025-Q2"] + (["--latest"] if counting == "latest" else [])
    if scope:
        name, value = scope.split("=")
        args += [f"--{'type' if name == 'type' else name}", value]
    assert api == dash == _keys(_command(*args))


@pytest.mark.parametrize("counting", ["all", "latest"])
@pytest.mark.parametrize("table,key", [("segments", "segment"), ("touchpoints", "touchpoint"), ("surveys", "survey")])
def test_breakdown_rows_agree_with_the_filtered_api_report(data, client, analyst, api_client_as, counting, table, key):
    s, _ = data
    client.force_login(analyst)
    api = api_client_as("analyst")
    ids = {survey.name: survey.pk for survey in s.values()}
    for row in _csv(client.get(f"/reports/nps/?period=2025-Q2&counting={counting}&format=csv&table={table}")):
        if not row[key]:
            continue
        value = ids[row[key]] if key == "survey" else row[key]
        report = api.get(f"/api/reports/nps/?period=2025-Q2&counting={counting}&{key}={value}").json()
        assert _keys(row) == _keys(report)
        assert (row["revenue_share_of_respondents"] or None) == report["revenue_share_of_respondents"]
        assert (int(row["invited"]), int(row["delivered"])) == (report["invited"], report["delivered"])


def test_response_list_and_export_count_what_the_report_counts(data, client, analyst):
    s, _ = data
    client.force_login(analyst)
    headline = nps = _command("2025-Q2")
    assert client.get(LIST).context["page_obj"].paginator.count == headline["responses"] == 8
    assert len(_csv(client.get(LIST.replace("/responses/?", "/responses/export.csv?")))) == 8
    for band, key in (("promoter", "promoters"), ("passive", "passives"), ("detractor", "detractors")):
        assert client.get(f"{LIST}&band={band}").context["page_obj"].paginator.count == nps[key]
    for survey in ("pulse", "annual"):  # named surveys: the list counts them all
        listed = client.get(f"{LIST}&survey={s[survey].pk}").context["page_obj"].paginator.count
        assert listed == _command("2025-Q2", "--survey", str(s[survey].pk))["responses"]
    # SMB holds no anonymous answer: the list's segment filter counts what the report counts.
    assert client.get(f"{LIST}&segment=SMB").context["page_obj"].paginator.count == \
        _command("2025-Q2", "--segment", "SMB")["responses"]


def test_survey_page_progress_agrees_with_the_api(data, client, analyst, api_client_as):
    s, _ = data
    client.force_login(analyst)
    api = api_client_as("analyst")
    for survey in s.values():
        page = client.get(f"/surveys/{survey.pk}/").context["progress"]
        progress = api.get(f"/api/surveys/{survey.pk}/").json()["progress"]
        assert (page.audience, page.delivered, page.responded, page.response_rate) == (
            progress["audience"], progress["delivered"], progress["responded"], progress["response_rate"])


@pytest.mark.parametrize("counting", ["all", "latest"])
@pytest.mark.parametrize("period", ["2025-12", "2025-Q4", "2025"])
def test_trend_rows_agree_with_each_period_report(data, client, analyst, api_client_as, counting, period):
    client.force_login(analyst)
    api = api_client_as("analyst")
    for row in _csv(client.get(f"/reports/nps/?period={period}&counting={counting}&format=csv&table=trend")):
        report = api.get(f"/api/reports/nps/?period={row['period']}&counting={counting}").json()
        assert (_keys(row), int(row["invited"]), int(row["delivered"])) == (
            _keys(report), report["invited"], report["delivered"]), row["period"]
