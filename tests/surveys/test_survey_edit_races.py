"""A survey edited while it is being launched (PostgreSQL: two real connections).

The launch locks the survey row (FOR UPDATE) and writes status and next_launch_at. An edit checked
its change against the survey as committed before the launch (nobody invited yet), then its save of
every column waited for the launch's lock and wrote its stale copy over the launch's: the kind
changed although the survey had invited customers, and an edit of the question lost the schedule
the first launch had started. The API, the staff form and the admin (its revert too) now take the
row lock before checking the change, and save only the columns the edit changes.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cxplatform.roles import sync_roles
from surveys.apis import SurveySerializer
from surveys.forms import SurveyForm
from surveys.launch import survey_launch
from surveys.models import KIND_LOCKED, Invitation, LaunchChannel, Survey, SurveyKind, SurveyStatus
from tests.concurrency import token_api_clients, while_first_is_held
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory, UserFactory
from tests.form_data import HIDDEN_INITIAL, admin_change_data, staff_edit_page_as_posted, survey_form_data


@pytest.fixture
def rows_stay_queued(monkeypatch):
    monkeypatch.setattr("surveys.launch._enqueue_sending", lambda countdown=0, tell=None: None)


def launching(survey):
    return lambda: survey_launch(survey=Survey.objects.get(pk=survey.pk), via=LaunchChannel.API)


def patch(make, survey, body):
    return lambda: make().patch(reverse("api-survey-detail", args=[survey.pk]), body, format="json")


def invited(survey) -> int:
    return Invitation.objects.filter(survey=survey, launch__isnull=False).count()


def signed_in_admin() -> Client:
    sync_roles()
    client = Client()
    client.force_login(UserFactory(role="admin"))
    return client


# --- Races with a launch -------------------------------------------------------------------------


class TestAnEditDuringALaunch:
    pytestmark = [
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections"),
        pytest.mark.usefixtures("rows_stay_queued"),
    ]

    def test_the_api_refuses_to_change_the_kind_of_a_survey_being_launched(self):
        CustomerFactory.create_batch(2)
        survey = SurveyFactory(throttle_days=0)
        make = token_api_clients("admin")

        outcome = while_first_is_held(launching(survey), patch(make, survey, {"kind": "transactional"}))

        assert outcome.error is None, repr(outcome.error)
        assert outcome.result.status_code == 400, outcome.result.content
        assert outcome.result.json()["kind"] == [KIND_LOCKED]
        survey.refresh_from_db()
        assert invited(survey) == 2
        assert survey.kind == SurveyKind.RELATIONSHIP

    def test_an_api_edit_of_the_question_keeps_the_schedule_the_first_launch_started(self):
        CustomerFactory.create_batch(2)
        survey = SurveyFactory(throttle_days=0, repeat_days=30)
        assert survey.next_launch_at is None
        make = token_api_clients("admin")

        outcome = while_first_is_held(launching(survey), patch(make, survey, {"question": "Would you recommend us?"}))

        assert outcome.error is None, repr(outcome.error)
        assert outcome.result.status_code == 200, outcome.result.content
        survey.refresh_from_db()
        assert survey.question == "Would you recommend us?"
        assert survey.status == SurveyStatus.ACTIVE
        assert survey.next_launch_at is not None
        assert outcome.result.json()["next_launch_at"] is not None  # the answer shows the survey as saved

    def test_the_staff_form_keeps_the_kind_of_a_survey_being_launched(self):
        CustomerFactory.create_batch(2)
        survey = SurveyFactory(name="Pulse", throttle_days=0)
        client = signed_in_admin()
        url = reverse("surveys:survey-edit", args=[survey.pk])
        data = survey_form_data(kind="transactional", status="active", question="Would you recommend us?")

        outcome = while_first_is_held(launching(survey), lambda: client.post(url, data))

        assert outcome.error is None, repr(outcome.error)
        survey.refresh_from_db()
        assert invited(survey) == 2
        assert survey.kind == SurveyKind.RELATIONSHIP  # locked by the launch: kept, and the page says so
        assert survey.question == "Would you recommend us?"

    def test_the_admin_refuses_to_change_the_kind_of_a_survey_being_launched(self):
        CustomerFactory.create_batch(2)
        survey = SurveyFactory(throttle_days=0)
        client = signed_in_admin()
        url = reverse("admin:surveys_survey_change", args=[survey.pk])
        data = admin_change_data(client, url, kind=SurveyKind.TRANSACTIONAL)

        outcome = while_first_is_held(launching(survey), lambda: client.post(url, data))

        assert outcome.error is None, repr(outcome.error)
        assert outcome.result.status_code == 200
        assert KIND_LOCKED in outcome.result.content.decode()
        survey.refresh_from_db()
        assert invited(survey) == 2
        assert survey.kind == SurveyKind.RELATIONSHIP

    def test_an_admin_revert_cannot_bring_back_the_kind_of_a_survey_being_launched(self):
        CustomerFactory.create_batch(2)
        survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)
        before = survey.history.earliest()
        survey.kind = SurveyKind.RELATIONSHIP
        survey.save()
        client = signed_in_admin()
        url = reverse("admin:surveys_survey_simple_history", args=[survey.pk, before.history_id])
        data = admin_change_data(client, url)

        outcome = while_first_is_held(launching(survey), lambda: client.post(url, data))

        assert outcome.error is None, repr(outcome.error)
        assert outcome.result.status_code == 200
        assert KIND_LOCKED in outcome.result.content.decode()
        survey.refresh_from_db()
        assert invited(survey) == 2
        assert survey.kind == SurveyKind.RELATIONSHIP


# --- Only the columns an edit changes ------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_edit_writes_only_the_fields_it_sends():
    survey = SurveyFactory(repeat_days=30)
    stale = Survey.objects.get(pk=survey.pk)
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.ACTIVE, next_launch_at="2030-01-01T00:00Z")

    serializer = SurveySerializer(stale, data={"question": "Would you recommend us?"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()

    survey.refresh_from_db()
    assert (survey.question, survey.status) == ("Would you recommend us?", SurveyStatus.ACTIVE)
    assert survey.next_launch_at is not None


@pytest.mark.django_db
def test_the_staff_form_writes_only_the_fields_it_changes():
    survey = SurveyFactory(name="Pulse", repeat_days=30)
    form = SurveyForm(survey_form_data(question="Would you recommend us?", repeat_days="30"), instance=survey)
    Survey.objects.filter(pk=survey.pk).update(imported=True, throttle_days=7)  # behind the form's back

    assert form.is_valid(), form.errors
    form.save()

    survey.refresh_from_db()
    assert survey.question == "Would you recommend us?"
    assert survey.imported  # not a field of the form: never written from its copy
    assert survey.throttle_days == 0  # posted, and differing from the copy the form read: written


@pytest.mark.django_db
def test_a_posted_change_of_a_locked_kind_is_named_in_a_warning(client_as):
    survey = SurveyFactory(name="Pulse", kind=SurveyKind.RELATIONSHIP)
    InvitationFactory(survey=survey)

    response = client_as("analyst").post(
        reverse("surveys:survey-edit", args=[survey.pk]),
        survey_form_data(kind=SurveyKind.TRANSACTIONAL, question="New wording {company}?"),
        follow=True,
    )

    assert response.status_code == 200
    assert f"Kind not changed: {KIND_LOCKED}" in [str(message) for message in response.context["messages"]]
    survey.refresh_from_db()
    assert (survey.kind, survey.question) == (SurveyKind.RELATIONSHIP, "New wording {company}?")


@pytest.mark.django_db
def test_a_change_of_an_unlocked_kind_warns_of_nothing(client_as):
    survey = SurveyFactory(name="Pulse", kind=SurveyKind.RELATIONSHIP)

    response = client_as("analyst").post(
        reverse("surveys:survey-edit", args=[survey.pk]), survey_form_data(kind=SurveyKind.TRANSACTIONAL), follow=True
    )

    assert [str(message) for message in response.context["messages"]] == ["Survey “Pulse” saved."]
    survey.refresh_from_db()
    assert survey.kind == SurveyKind.TRANSACTIONAL


def _admin_page_as_posted(client, url, **changes) -> dict:
    """The admin change page posted back as drawn: its fields and the hidden values it showed."""
    data = admin_change_data(client, url, **changes)
    html = client.get(url).content.decode()
    data.update(HIDDEN_INITIAL.findall(html))
    data.pop("next_launch_at", None)
    data.update(re.findall(r'name="(next_launch_at_[01])" value="([^"]*)"', html))
    data.update(changes)
    return data


def _form_errors(response):
    context = response.context
    return context and (context["adminform"].form if "adminform" in context else context["form"]).errors


EDIT_PAGES = pytest.mark.parametrize(
    ("page", "as_posted"),
    [("surveys:survey-edit", staff_edit_page_as_posted), ("admin:surveys_survey_change", _admin_page_as_posted)],
    ids=["staff", "admin"],
)


@EDIT_PAGES
@pytest.mark.django_db
def test_an_edit_page_opened_before_a_launch_keeps_the_schedule_the_launch_set(client_as, page, as_posted):
    # The page showed the draft and its first launch; a launch then started the schedule. Saving the
    # page with another question must not put the draft and the old launch date back.
    survey = SurveyFactory(name="Pulse", repeat_days=30, next_launch_at=dt.datetime(2026, 12, 3, 6, tzinfo=dt.UTC))
    client = client_as("admin")
    url = reverse(page, args=[survey.pk])
    posted = as_posted(client, url, question="Would you recommend us?")
    assert posted["initial-status"] == SurveyStatus.DRAFT
    relaunch = dt.datetime(2027, 1, 2, 6, tzinfo=dt.UTC)
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.ACTIVE, next_launch_at=relaunch)  # the launch

    response = client.post(url, posted)

    assert response.status_code == 302, _form_errors(response)
    survey.refresh_from_db()
    assert survey.question == "Would you recommend us?"
    assert (survey.status, survey.next_launch_at) == (SurveyStatus.ACTIVE, relaunch)


@EDIT_PAGES
@pytest.mark.django_db
def test_a_status_the_person_changed_on_the_page_is_saved(client_as, page, as_posted):
    survey = SurveyFactory(name="Pulse", repeat_days=30, next_launch_at=dt.datetime(2026, 12, 3, 6, tzinfo=dt.UTC))
    client = client_as("admin")
    url = reverse(page, args=[survey.pk])

    response = client.post(url, as_posted(client, url, status=SurveyStatus.CLOSED))

    assert response.status_code == 302, _form_errors(response)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.CLOSED


@pytest.mark.django_db
def test_an_admin_revert_restores_the_versions_status(client_as):
    survey = SurveyFactory(name="Pulse")
    before = survey.history.latest()
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.CLOSED)
    client = client_as("admin")
    url = reverse("admin:surveys_survey_simple_history", args=[survey.pk, before.history_id])

    response = client.post(url, _admin_page_as_posted(client, url))

    assert response.status_code == 302, _form_errors(response)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.DRAFT
