"""The survey pages: list with progress, create, edit, detail, email preview and launch."""

import html

import pytest
from django.urls import reverse

from surveys import selectors
from surveys.models import InvitationState, SuppressionReason, Survey, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def _invitations(survey, **states):
    """`sent=2, queued=1, ...`; `suppressed_<reason>=n` for suppressed ones."""
    for state, count in states.items():
        kind, _, reason = state.partition("_")
        extra = {"suppression_reason": reason} if reason else {}
        for _ in range(count):
            InvitationFactory(survey=survey, state=kind, **extra)


def test_progress_counts_every_state_in_one_query(django_assert_num_queries):
    survey = SurveyFactory()
    _invitations(survey, sent=3, queued=1, sending=1, failed=1, bounced=1, expired=1)
    _invitations(survey, suppressed_opted_out=2, suppressed_throttled=1)
    ResponseFactory.create_batch(2, invitation__survey=survey)

    with django_assert_num_queries(1):
        progress = selectors.survey_progress(survey)

    assert (progress.audience, progress.queued, progress.sent, progress.responded) == (13, 2, 3, 2)
    assert (progress.failed, progress.bounced, progress.expired, progress.suppressed) == (1, 1, 1, 3)
    assert (progress.opted_out, progress.throttled, progress.no_email) == (2, 1, 0)
    assert progress.delivered == 6  # sent + responded + expired
    assert progress.response_rate == pytest.approx(2 / 6)


def test_the_response_rate_is_undefined_before_anything_is_delivered():
    assert selectors.survey_progress(SurveyFactory()).response_rate is None


def test_the_list_shows_each_survey_with_its_counts(client_as):
    survey = SurveyFactory(name="Quarterly NPS")
    _invitations(survey, sent=3, suppressed_no_email=1)
    ResponseFactory(invitation__survey=survey)

    page = client_as("analyst").get(reverse("surveys:survey-list"))

    assert page.status_code == 200
    listed = {s.name: s.progress for s in page.context["page_obj"].object_list}
    assert listed["Quarterly NPS"].audience == 5
    assert listed["Quarterly NPS"].suppressed == 1
    assert "25.0 %" in page.content.decode()  # 1 responded of 4 delivered


def test_the_pages_round_the_response_rate_as_the_nps_dashboard_does(client_as):
    # Audit: 23 of 80 is 28.75 %: the float (0.28749999...) read 28.7 % on the survey pages, beside
    # 28.8 % on the NPS dashboard (exact, rounded half away from zero).
    survey = SurveyFactory(name="Pulse")
    _invitations(survey, sent=57)
    ResponseFactory.create_batch(23, invitation__survey=survey)
    client = client_as("analyst")

    detail = client.get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()
    listing = client.get(reverse("surveys:survey-list")).content.decode()

    assert "<dt>Response rate</dt><dd>28.8 %" in detail
    assert "28.8 %" in listing and "28.7 %" not in listing
    assert selectors.survey_progress(survey).response_rate == 23 / 80  # the API's float, unchanged


def _list_queries(client, django_assert_max_num_queries, n):
    with django_assert_max_num_queries(n):
        assert client.get(reverse("surveys:survey-list")).status_code == 200


def test_the_list_takes_no_query_per_survey(client_as, django_assert_max_num_queries):
    client = client_as("analyst")
    for i in range(12):
        _invitations(SurveyFactory(name=f"S{i}"), sent=2)
    # session, user, permissions (2), count, page, its progress: the same with 12 surveys as with 1.
    _list_queries(client, django_assert_max_num_queries, 8)


def test_an_analyst_creates_a_survey_and_becomes_its_owner(client_as, analyst, client):
    client.force_login(analyst)
    data = {
        "name": "Onboarding", "kind": "relationship", "status": "draft", "question": "How likely?",
        "expiry_days": 30, "throttle_days": 90, "audience": "sample", "sample_percent": "10",
        "owner": analyst.pk,
    }

    response = client.post(reverse("surveys:survey-create"), data)

    survey = Survey.objects.get(name="Onboarding")
    assert response.status_code == 302 and response["Location"] == reverse("surveys:survey-detail", args=[survey.pk])
    assert survey.owner == analyst
    assert survey.history.get().history_user == analyst


def test_a_segment_audience_needs_its_segment(client_as):
    data = {"name": "X", "kind": "relationship", "status": "draft", "question": "Q", "expiry_days": 30,
            "throttle_days": 90, "audience": "segment"}

    response = client_as("analyst").post(reverse("surveys:survey-create"), data)

    assert response.status_code == 400
    assert "Name the segment" in response.content.decode()
    assert not Survey.objects.filter(name="X").exists()


def test_an_anonymous_survey_stays_anonymous(client_as):
    survey = SurveyFactory(anonymous=True)
    data = {"name": survey.name, "kind": "relationship", "status": "draft", "question": "Q",
            "expiry_days": 30, "throttle_days": 90, "audience": "all"}

    response = client_as("admin").post(reverse("surveys:survey-edit", args=[survey.pk]), data)

    assert response.status_code == 302  # the locked (disabled) checkbox keeps the stored value
    survey.refresh_from_db()
    assert survey.anonymous


def test_editing_saves_the_settings(client_as):
    survey = SurveyFactory(name="Old")
    data = {"name": "New name", "kind": "relationship", "status": "active", "question": "Q",
            "expiry_days": 14, "throttle_days": 0, "audience": "all", "reminder_days": 3}

    response = client_as("analyst").post(reverse("surveys:survey-edit", args=[survey.pk]), data)

    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.name, survey.expiry_days, survey.reminder_days) == ("New name", 14, 3)


def test_the_detail_page_shows_progress_and_refreshes_while_sending(client_as):
    survey = SurveyFactory()
    _invitations(survey, queued=2, suppressed_bounced_before=1)

    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk]))

    body = page.content.decode()
    assert page.context["progress"].queued == 2
    assert 'data-autorefresh-seconds="15"' in body and "js/autorefresh.js" in body  # reloads, with a pause button
    assert "Sending: this page refreshes every 15 seconds." in body
    assert 'http-equiv="refresh"' not in body  # no reload the reader cannot stop (WCAG 2.2.1)
    assert f"{SuppressionReason.BOUNCED_BEFORE.label}: 1" in body


def test_the_detail_page_stops_refreshing_when_nothing_is_queued(client_as):
    survey = SurveyFactory()
    _invitations(survey, sent=1)

    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk]))

    body = page.content.decode()
    assert "data-autorefresh-seconds" not in body and "js/autorefresh.js" not in body


def test_the_detail_page_lists_invitations_with_a_bounded_number_of_queries(client_as, django_assert_max_num_queries):
    survey = SurveyFactory()
    _invitations(survey, sent=30)
    client = client_as("analyst")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("surveys:survey-detail", args=[survey.pk]))
    assert len(page.context["page_obj"].object_list) == 30


def test_an_unknown_survey_is_404(client_as):
    assert client_as("admin").get(reverse("surveys:survey-detail", args=[999999])).status_code == 404


def test_the_preview_renders_the_email_in_a_sandboxed_frame(client_as):
    survey = SurveyFactory(question="Would you recommend {company}?")

    page = client_as("analyst").get(reverse("surveys:survey-preview", args=[survey.pk]))

    body = page.content.decode()
    assert page.status_code == 200
    assert 'sandbox=""' in body and "srcdoc=" in body
    srcdoc = body.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert "<" not in srcdoc  # escaped: the email's HTML cannot run in our page
    assert "Would you recommend" in html.unescape(srcdoc)
    assert page.context["preview"]["message"].subject in body


def test_the_preview_uses_no_real_customer_and_saves_nothing(client_as):
    CustomerFactory(email="real@customer.example.com")
    survey = SurveyFactory()

    page = client_as("analyst").get(reverse("surveys:survey-preview", args=[survey.pk]))

    assert "real@customer.example.com" not in page.content.decode()
    assert not survey.invitations.exists()


def test_the_create_form_previews_its_email_without_saving(client_as):
    data = {"name": "Onboarding", "kind": "relationship", "status": "draft", "question": "Shall we meet again?",
            "expiry_days": 30, "throttle_days": 90, "audience": "all", "preview": "1"}

    page = client_as("analyst").post(reverse("surveys:survey-create"), data)

    body = page.content.decode()
    assert page.status_code == 200
    assert "Shall we meet again?" in html.unescape(body.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert 'value="Onboarding"' in body  # the form stays filled in
    assert not Survey.objects.filter(name="Onboarding").exists()


def test_the_edit_form_previews_the_edited_wording_and_keeps_the_saved_one(client_as):
    survey = SurveyFactory(name="Pulse", question="Old wording?")
    data = {"name": "Pulse", "kind": "relationship", "status": "draft", "question": "New wording?",
            "expiry_days": 30, "throttle_days": 90, "audience": "all", "preview": "1"}

    page = client_as("analyst").post(reverse("surveys:survey-edit", args=[survey.pk]), data)

    assert page.status_code == 200
    assert "New wording?" in page.context["preview"]["message"].body
    survey.refresh_from_db()
    assert survey.question == "Old wording?"


def test_an_invalid_form_shows_its_errors_and_no_preview(client_as):
    data = {"name": "X", "kind": "relationship", "status": "draft", "question": "Q", "expiry_days": 30,
            "throttle_days": 90, "audience": "segment", "preview": "1"}

    page = client_as("analyst").post(reverse("surveys:survey-create"), data)

    assert page.status_code == 400
    assert "preview" not in page.context
    assert "Name the segment" in page.content.decode()


def test_launching_needs_the_confirmation(client_as):
    CustomerFactory()
    survey = SurveyFactory()

    response = client_as("analyst").post(reverse("surveys:survey-launch", args=[survey.pk]), {})

    assert response.status_code == 400
    assert "Tick the box" in response.content.decode()
    assert not survey.invitations.exists()


def test_launching_invites_the_audience(client_as, django_capture_on_commit_callbacks):
    CustomerFactory.create_batch(3)
    CustomerFactory(email="")  # gets a suppressed invitation: the sample stays auditable
    survey = SurveyFactory()

    with django_capture_on_commit_callbacks():
        response = client_as("analyst").post(reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on"})

    assert response.status_code == 302
    launch = survey.launches.get()
    assert launch.audience_size == 4
    assert survey.invitations.filter(state=InvitationState.SUPPRESSED).count() == 1


def test_a_transactional_survey_is_not_launched(client_as):
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)

    response = client_as("analyst").post(reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on"})

    assert response.status_code == 400
    assert not survey.launches.exists()
