"""Regressions found by walking the staff pages: a schedule kept under a German browser, launch forms
only where a launch can succeed, kinds kept once invited, dashboard links and figures that agree."""

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import Survey, SurveyKind, SurveyStatus
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay

pytestmark = pytest.mark.django_db

MAY_2025 = dt.datetime(2025, 5, 10, 12, tzinfo=dt.UTC)


# --- Surveys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "fr", "en"])
def test_the_next_launch_is_kept_when_a_survey_is_edited_in_any_language(client_as, language):
    next_launch = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=3)
    survey = SurveyFactory(repeat_days=7, next_launch_at=next_launch)
    client = client_as("admin")

    page = client.get(reverse("surveys:survey-edit", args=[survey.pk]), HTTP_ACCEPT_LANGUAGE=language)
    shown = re.search(r'name="next_launch_at" value="([^"]*)"', page.content.decode()).group(1)

    # The browser's datetime-local input takes ISO only; anything else it shows empty and posts empty.
    assert shown == timezone.localtime(next_launch).strftime("%Y-%m-%dT%H:%M")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(next_launch_at=shown, question="Would you recommend us?", owner="")
    response = client.post(reverse("surveys:survey-edit", args=[survey.pk]), data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302, response.content.decode()[:2000]
    survey.refresh_from_db()
    assert survey.next_launch_at == next_launch


@pytest.mark.parametrize(("settings_", "refusal"), [
    ({"status": SurveyStatus.CLOSED}, "This survey is closed."),
    ({"imported": True}, "An imported survey holds historical answers"),
    ({"kind": SurveyKind.TRANSACTIONAL}, "Only relationship surveys are launched"),
])
def test_a_survey_that_cannot_be_launched_shows_why_instead_of_a_launch_form(client_as, settings_, refusal):
    survey = SurveyFactory(**settings_)

    page = client_as("admin").get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()

    assert refusal in page
    assert reverse("surveys:survey-launch", args=[survey.pk]) not in page


def test_a_launchable_survey_shows_its_launch_form(client_as):
    survey = SurveyFactory()

    page = client_as("admin").get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()

    assert reverse("surveys:survey-launch", args=[survey.pk]) in page


def test_a_survey_that_invited_customers_keeps_its_kind(api_client_as):
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    InvitationFactory(survey=survey)

    response = api_client_as("admin").patch(
        reverse("api-survey-detail", args=[survey.pk]), {"kind": SurveyKind.TRANSACTIONAL}, format="json"
    )

    assert response.status_code == 400
    assert "keeps its kind" in response.json()["kind"][0]
    assert Survey.objects.get(pk=survey.pk).kind == SurveyKind.RELATIONSHIP


def test_the_admin_keeps_the_kind_of_a_survey_that_invited_customers(client_as):
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    InvitationFactory(survey=survey)
    client = client_as("admin")
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(kind=SurveyKind.TRANSACTIONAL, owner="")

    response = client.post(url, data)

    assert response.status_code == 200
    assert "keeps its kind" in response.content.decode()
    assert Survey.objects.get(pk=survey.pk).kind == SurveyKind.RELATIONSHIP


def test_a_survey_not_yet_used_may_change_kind(api_client_as):
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)

    response = api_client_as("admin").patch(
        reverse("api-survey-detail", args=[survey.pk]), {"kind": SurveyKind.TRANSACTIONAL}, format="json"
    )

    assert response.status_code == 200, response.content


def test_the_api_refuses_a_schedule_on_a_transactional_survey(api_client_as):
    response = api_client_as("admin").post(
        reverse("api-survey-list"), {"name": "Orders", "kind": SurveyKind.TRANSACTIONAL, "repeat_days": 7},
        format="json",
    )

    assert response.status_code == 400
    assert "per event" in response.json()["repeat_days"][0]
    assert not Survey.objects.filter(name="Orders").exists()


# --- The NPS dashboard ------------------------------------------------------------------------------


def csv_rows(client, url):
    response = client.get(url)
    return b"".join(response.streaming_content).decode().splitlines()


def test_loyalty_economics_counts_only_the_chosen_surveys_respondents(client_as):
    chosen, other = SurveyFactory(name="Q2 pulse"), SurveyFactory(name="Other")
    promoter, detractor = CustomerFactory(), CustomerFactory()
    pay(promoter, "2025-05-01", "100.00")
    pay(detractor, "2025-05-01", "900.00")
    ResponseFactory(invitation__survey=chosen, invitation__customer=promoter, score=10, answered_at=MAY_2025)
    ResponseFactory(invitation__survey=other, invitation__customer=detractor, score=2, answered_at=MAY_2025)

    rows = csv_rows(client_as("analyst"), f"/reports/nps/?period=2025-Q2&survey={chosen.pk}&format=csv&table=loyalty")

    by_category = {row.split(",")[0].strip('"'): row.split(",")[1] for row in rows[1:]}
    assert by_category["promoter"] == "1"
    assert by_category["detractor"] == "0"


def test_a_touchpoint_flag_links_to_the_answers_it_counted(client_as):
    relationship, transactional = SurveyFactory(), SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    a_year_before = MAY_2025 - dt.timedelta(days=365)
    for _ in range(40):
        ResponseFactory(invitation__survey=relationship, score=10, touchpoint="store", answered_at=MAY_2025)
        ResponseFactory(invitation__survey=relationship, score=3, touchpoint="web", answered_at=MAY_2025)
        ResponseFactory(invitation__survey=relationship, score=1, touchpoint="store", answered_at=a_year_before)
        ResponseFactory(invitation__survey=transactional, score=0, touchpoint="store", answered_at=MAY_2025)
    client = client_as("analyst")

    page = client.get("/reports/nps/?period=2025-Q2").content.decode()

    label, url = next((label, url) for url, label in re.findall(r'<a href="(/responses/[^"]*)">([^<]*)</a>', page)
                      if label.startswith("Touchpoint store"))
    assert "of 40" in label
    listing = client.get(html.unescape(url)).content.decode()
    assert re.search(r"\b40 responses\b", listing)


def test_a_viewer_sees_the_integrity_flags_without_links_to_pages_it_may_not_open(client_as):
    survey = SurveyFactory()
    InvitationFactory.create_batch(9, survey=survey, sent_at=MAY_2025)
    ResponseFactory(invitation__survey=survey, invitation__sent_at=MAY_2025, score=10, answered_at=MAY_2025)

    page = client_as("viewer").get("/reports/nps/?period=2025-Q2").content.decode()

    assert "Response rate under 20 %" in page
    assert 'href="/surveys/"' not in page and 'href="/responses/' not in page


def test_the_response_rate_is_shown_to_one_decimal_rounded_half_up(client_as):
    survey = SurveyFactory()
    InvitationFactory.create_batch(7, survey=survey, sent_at=MAY_2025)
    ResponseFactory(invitation__survey=survey, invitation__sent_at=MAY_2025, score=10, answered_at=MAY_2025)

    page = client_as("analyst").get("/reports/nps/?period=2025-Q2").content.decode()

    assert "12.5% of delivered" in page  # 1 of 8; widthratio showed 12 %


def test_the_referrals_page_says_when_nobody_referred_anyone(client_as):
    page = client_as("analyst").get("/reports/referrals/").content.decode()

    assert "No customer has referred anyone yet." in page
