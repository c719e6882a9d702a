"""A staff form or a Django admin page saved twice at once (a double click on a slow page, a rename
to a name another tab just took): the second save passed the form's uniqueness check before the
first committed, then failed on the unique index, a 500. It now gets the form again, naming the
field, as the same submit a moment later does.

The races need two connections (PostgreSQL); the tests below them replay the loser's path on any
database by letting its first uniqueness check miss the row."""

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from accounting.models import Customer, ReasonCategory
from cxplatform.api_writes import UNIQUE_TAKEN_MEANWHILE
from surveys.models import SuppressedAddress, Survey
from tests.concurrency import while_first_is_held
from tests.factories import SurveyFactory, UserFactory
from tests.form_data import admin_change_data, admin_user_change_data, survey_form_data

needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")
NAME_TAKEN = "Survey with this Name already exists."

ADMIN_ADDS = {
    "customer": (
        "admin:accounting_customer_add",
        {"external_id": "C-TWICE", "name": "Alice", "email": "", "language": "en", "segment": "",
         "acquisition_cost": "", "reason_text": ""},
        "external_id",
        lambda: Customer.objects.filter(external_id="C-TWICE"),
    ),
    "reason category": (
        "admin:accounting_reasoncategory_add",
        {"slug": "partner", "label": "Partner", "kind": "earned", "is_active": "on", "order": "50"},
        "slug",
        lambda: ReasonCategory.objects.filter(slug="partner"),
    ),
    "suppressed address": (
        "admin:surveys_suppressedaddress_add",
        {"email": "jo@example.com", "kind": "complained", "detail": "by phone",
         "created_at_0": "2025-01-01", "created_at_1": "10:00:00"},
        "email",
        lambda: SuppressedAddress.objects.filter(email="jo@example.com"),
    ),
}
# Their forms find the duplicate with Django's uniqueness check (the suppressed address's own check
# looks itself, and is not the one the fixture below makes miss).
CHECKED_BY_DJANGO = ["customer", "reason category"]


def tabs(role):
    """Two browser tabs of one user, signed in beforehand (a login in a thread would wait on the
    user row's lock, last_login, and so keep the two requests apart)."""
    user = UserFactory(role=role)
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(user)
    return clients


def post(client, url, data):
    return lambda: client.post(url, data)


def admin_form(response):
    return response.context["adminform"].form


def additions_of(model):
    return LogEntry.objects.filter(action_flag=ADDITION, content_type__model=model._meta.model_name)


# --- Races (PostgreSQL) --------------------------------------------------------------------------


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_answers_a_new_survey_sent_twice_at_once_with_the_name_error():
    one, two = tabs("analyst")
    url, data = reverse("surveys:survey-create"), survey_form_data(name="Pulse twice")

    outcome = while_first_is_held(post(one, url, data), post(two, url, data))

    assert outcome.error is None, outcome.error
    assert outcome.waited  # the second insert waited on the unique index for the first
    assert outcome.result.status_code == 400
    assert NAME_TAKEN in outcome.result.content.decode()
    assert Survey.objects.filter(name="Pulse twice").count() == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_answers_a_rename_to_a_name_taken_at_the_same_time_with_the_name_error():
    one, two = SurveyFactory(name="One"), SurveyFactory(name="Two")
    alice, bob = tabs("admin")

    def rename(client, survey):
        return post(client, reverse("surveys:survey-edit", args=[survey.pk]), survey_form_data(name="Pulse"))

    outcome = while_first_is_held(rename(alice, one), rename(bob, two))

    assert outcome.error is None, outcome.error
    assert outcome.waited
    assert outcome.result.status_code == 400
    assert NAME_TAKEN in outcome.result.content.decode()
    assert set(Survey.objects.values_list("name", flat=True)) == {"Pulse", "Two"}


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", ADMIN_ADDS)
def test_it_answers_an_admin_add_saved_twice_at_once_with_the_field_error(what):
    url_name, data, field, kept = ADMIN_ADDS[what]
    one, two = tabs("admin")
    url = reverse(url_name)

    outcome = while_first_is_held(post(one, url, data), post(two, url, data))

    assert outcome.error is None, outcome.error
    assert outcome.waited
    assert outcome.result.status_code == 200  # the admin's page of a refused form
    assert "already" in admin_form(outcome.result).errors[field][0]
    assert kept().count() == 1
    assert additions_of(kept().model).count() == 1  # the history holds the one that was saved


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_answers_an_admin_rename_to_a_slug_taken_at_the_same_time_with_the_field_error():
    first = ReasonCategory.objects.create(slug="first", label="First", kind="earned")
    second = ReasonCategory.objects.create(slug="second", label="Second", kind="earned")
    alice, bob = tabs("admin")

    def rename(client, category):
        url = reverse("admin:accounting_reasoncategory_change", args=[category.pk])
        return post(client, url, admin_change_data(client, url, slug="partner"))

    outcome = while_first_is_held(rename(alice, first), rename(bob, second))

    assert outcome.error is None, outcome.error
    assert outcome.result.status_code == 200
    assert "already exists" in admin_form(outcome.result).errors["slug"][0]
    assert set(ReasonCategory.objects.filter(pk__in=[first.pk, second.pk]).values_list("slug", flat=True)) == {
        "partner", "second"
    }


# --- The loser's path, on any database -----------------------------------------------------------


@pytest.fixture
def miss_unique_checks(monkeypatch):
    """`miss_unique_checks(n)`: the next n uniqueness checks of a form find nothing, as one does while
    the other request's row is uncommitted; the checks after them look again."""
    original, armed = Model._perform_unique_checks, []

    def check(self, unique_checks):
        if armed:
            armed.pop()
            return {}
        return original(self, unique_checks)

    monkeypatch.setattr(Model, "_perform_unique_checks", check)
    return lambda times=1: armed.extend([True] * times)


@pytest.mark.django_db
def test_a_new_survey_that_lost_to_a_committed_one_gets_the_page_a_second_submit_gets(client_as, miss_unique_checks):
    client = client_as("analyst")
    url, data = reverse("surveys:survey-create"), survey_form_data(name="Pulse")
    assert client.post(url, data).status_code == 302
    sequential = client.post(url, data)
    miss_unique_checks()

    response = client.post(url, data)

    assert response.status_code == sequential.status_code == 400
    assert NAME_TAKEN in response.content.decode()
    assert response.context["form"].errors == sequential.context["form"].errors
    assert Survey.objects.filter(name="Pulse").count() == 1


@pytest.mark.django_db
def test_a_rename_that_lost_to_a_committed_survey_is_refused_with_the_name_error(client_as, miss_unique_checks):
    SurveyFactory(name="Pulse")
    survey = SurveyFactory(name="Two")
    miss_unique_checks()

    response = client_as("admin").post(reverse("surveys:survey-edit", args=[survey.pk]), survey_form_data(name="Pulse"))

    assert response.status_code == 400
    assert NAME_TAKEN in response.content.decode()
    assert response.context["survey"].name == "Two"  # the page is headed by the survey as saved
    survey.refresh_from_db()
    assert survey.name == "Two"


@pytest.mark.django_db
def test_a_survey_the_form_finds_nothing_wrong_with_after_the_index_refused_it_says_so(client_as, miss_unique_checks):
    SurveyFactory(name="Pulse")
    miss_unique_checks(2)  # the form's check, and the one after the failed save

    response = client_as("analyst").post(reverse("surveys:survey-create"), survey_form_data(name="Pulse"))

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [UNIQUE_TAKEN_MEANWHILE]
    assert Survey.objects.filter(name="Pulse").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("what", CHECKED_BY_DJANGO)
def test_an_admin_add_that_lost_to_a_committed_row_shows_the_form_with_the_field_error(
    client_as, miss_unique_checks, what
):
    url_name, data, field, kept = ADMIN_ADDS[what]
    client = client_as("admin")
    assert client.post(reverse(url_name), data).status_code == 302
    sequential = admin_form(client.post(reverse(url_name), data)).errors
    miss_unique_checks()

    response = client.post(reverse(url_name), data)

    assert response.status_code == 200
    assert admin_form(response).errors == sequential
    assert "already exists" in sequential[field][0]
    assert kept().count() == 1
    assert additions_of(kept().model).count() == 1
    assert not [m for m in response.context["messages"] if "successfully" in str(m)]


@pytest.mark.django_db
def test_an_admin_add_the_form_finds_nothing_wrong_with_after_the_index_refused_it_says_so(
    client_as, miss_unique_checks
):
    url_name, data, _, kept = ADMIN_ADDS["customer"]
    client = client_as("admin")
    assert client.post(reverse(url_name), data).status_code == 302
    miss_unique_checks(2)

    response = client.post(reverse(url_name), data)

    assert response.status_code == 200
    assert admin_form(response).non_field_errors() == [UNIQUE_TAKEN_MEANWHILE]
    assert kept().count() == 1


@pytest.mark.django_db
def test_a_user_renamed_in_the_admin_to_a_name_just_taken_gets_the_field_error(client, admin, miss_unique_checks):
    """Django's user admin builds its form itself (`get_form` takes `change` as a keyword only)."""
    UserFactory(username="carol")
    bob = UserFactory(username="bob", role="analyst")
    client.force_login(admin)
    url = reverse("admin:auth_user_change", args=[bob.pk])
    data = admin_user_change_data(client, url, username="carol")
    miss_unique_checks()

    response = client.post(url, data)

    assert response.status_code == 200
    assert "already exists" in admin_form(response).errors["username"][0]
    bob.refresh_from_db()
    assert bob.username == "bob"


@pytest.mark.django_db
def test_an_admin_add_still_saves_logs_and_redirects(client_as):
    url_name, data, _, kept = ADMIN_ADDS["reason category"]

    response = client_as("admin").post(reverse(url_name), data, follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:accounting_reasoncategory_changelist")
    assert any("was added successfully" in str(m) for m in response.context["messages"])
    assert kept().count() == 1
    assert additions_of(ReasonCategory).count() == 1
