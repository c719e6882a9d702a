"""The same write twice at once (a double click, an integration retrying a POST that timed out):
the loser gets the 400 naming the field a sequential duplicate gets, never a 500 from the unique
index; a survey deleted while it is being launched is refused (409), its launch kept, and one
launched while it is being deleted is not found (404).

The races need two connections (PostgreSQL); the tests below them replay the loser's path on any
database by letting its first uniqueness check miss the row."""

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.validators import UniqueValidator

from accounting.models import Customer, ReasonCategory
from surveys.launch import invitation_get_or_create_transactional, survey_launch
from surveys.models import Invitation, LaunchChannel, Survey
from tests.concurrency import token_api_clients, while_first_is_held
from tests.factories import CustomerFactory, SurveyFactory

CREATES = {
    "customer": ("api-customer-list", {"external_id": "C-TWICE", "name": "Alice"}, "external_id"),
    "survey": ("api-survey-list", {"name": "Pulse", "kind": "relationship"}, "name"),
    "reason category": ("api-reason-category-list", {"slug": "partner", "label": "Partner", "kind": "earned"}, "slug"),
}
KEPT = {
    "customer": lambda: Customer.objects.filter(external_id="C-TWICE"),
    "survey": lambda: Survey.objects.filter(name="Pulse"),
    "reason category": lambda: ReasonCategory.objects.filter(slug="partner"),
}
needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")


def post(make_client, what):
    url_name, body, _ = CREATES[what]
    return lambda: make_client().post(reverse(url_name), body, format="json")


# --- Races (PostgreSQL) --------------------------------------------------------------------------


@needs_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", CREATES)
def test_it_answers_a_create_sent_twice_at_once_with_the_field_error(what):
    make = token_api_clients("admin")

    outcome = while_first_is_held(post(make, what), post(make, what))

    assert outcome.error is None, outcome.error
    assert outcome.waited  # the second insert waited on the unique index
    assert outcome.result.status_code == 400, outcome.result.content
    assert "already exists" in outcome.result.json()[CREATES[what][2]][0]
    assert KEPT[what]().count() == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_answers_a_rename_to_a_name_taken_at_the_same_time_with_the_field_error():
    make = token_api_clients("admin")
    one, two = SurveyFactory(name="One"), SurveyFactory(name="Two")

    def rename(survey):
        return lambda: make().patch(reverse("api-survey-detail", args=[survey.pk]), {"name": "Pulse"}, format="json")

    outcome = while_first_is_held(rename(one), rename(two))

    assert outcome.error is None, outcome.error
    assert outcome.result.status_code == 400, outcome.result.content
    assert "name" in outcome.result.json()
    assert set(Survey.objects.values_list("name", flat=True)) == {"Pulse", "Two"}


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_delete_a_survey_while_it_is_being_launched():
    CustomerFactory.create_batch(3)
    survey = SurveyFactory(throttle_days=0)
    api = token_api_clients("admin")()

    outcome = while_first_is_held(
        lambda: survey_launch(survey=Survey.objects.get(pk=survey.pk), via=LaunchChannel.API),
        lambda: api.delete(reverse("api-survey-detail", args=[survey.pk])),
    )

    assert outcome.error is None, outcome.error
    assert outcome.waited  # for the launch's lock of the survey row
    assert outcome.result.status_code == 409, outcome.result.content
    assert Invitation.objects.filter(survey_id=survey.pk).count() == 3


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_delete_a_survey_while_a_trigger_of_it_is_under_way():
    """Django's foreign keys are checked at commit: the delete saw no invitation, went through, and
    the trigger failed at its commit (a 500)."""
    customer = CustomerFactory()
    survey = SurveyFactory(kind="transactional", throttle_days=0)
    api = token_api_clients("admin")()

    outcome = while_first_is_held(
        lambda: invitation_get_or_create_transactional(
            survey=Survey.objects.get(pk=survey.pk), customer=customer, touchpoint="order", reference="O-1"
        ),
        lambda: api.delete(reverse("api-survey-detail", args=[survey.pk])),
    )

    assert outcome.error is None, outcome.error
    assert outcome.waited
    assert outcome.result.status_code == 409, outcome.result.content
    assert Invitation.objects.filter(survey_id=survey.pk).count() == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_it_answers_404_to_a_launch_of_a_survey_being_deleted():
    survey = SurveyFactory(throttle_days=0)
    api = token_api_clients("admin")()

    outcome = while_first_is_held(
        lambda: Survey.objects.filter(pk=survey.pk).delete(),
        lambda: api.post(reverse("api-survey-launch", args=[survey.pk]), {}, format="json"),
    )

    assert outcome.error is None, outcome.error
    assert outcome.waited  # for the delete's lock of the survey row
    assert outcome.result.status_code == 404, outcome.result.content


# --- The loser's path, on any database -----------------------------------------------------------


@pytest.fixture
def miss_the_next_unique_check(monkeypatch):
    """Arm it and the next uniqueness check finds nothing, as one does while the other request's
    row is uncommitted; the checks after it look again."""
    original, armed = UniqueValidator.__call__, []

    def check(self, value, serializer_field):
        if armed:
            armed.pop()
            return
        original(self, value, serializer_field)

    monkeypatch.setattr(UniqueValidator, "__call__", check)
    return lambda: armed.append(True)


@pytest.mark.django_db
@pytest.mark.parametrize("what", CREATES)
def test_it_answers_a_sequential_duplicate_with_the_field_error(api_client_as, what):
    api = api_client_as("admin")
    assert post(lambda: api, what)().status_code == 201

    response = post(lambda: api, what)()

    assert response.status_code == 400, response.content
    assert "already exists" in response.json()[CREATES[what][2]][0]


@pytest.mark.django_db
@pytest.mark.parametrize("what", CREATES)
def test_it_answers_an_insert_that_lost_to_a_committed_row_with_the_field_error(
    api_client_as, miss_the_next_unique_check, what
):
    api = api_client_as("admin")
    assert post(lambda: api, what)().status_code == 201
    sequential = post(lambda: api, what)().json()
    miss_the_next_unique_check()

    response = post(lambda: api, what)()

    assert response.status_code == 400, response.content
    assert response.json() == sequential
    assert KEPT[what]().count() == 1


@pytest.mark.django_db
def test_it_answers_an_update_that_lost_to_a_committed_row_with_the_field_error(
    api_client_as, miss_the_next_unique_check
):
    SurveyFactory(name="Pulse")
    survey = SurveyFactory(name="Two")
    miss_the_next_unique_check()

    response = api_client_as("admin").patch(
        reverse("api-survey-detail", args=[survey.pk]), {"name": "Pulse"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "name" in response.json()
    survey.refresh_from_db()
    assert survey.name == "Two"


@pytest.mark.django_db
def test_it_answers_409_when_the_data_validates_even_after_the_unique_index_refused_it(
    api_client_as, monkeypatch
):
    CustomerFactory(external_id="C-TWICE")
    monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, serializer_field: None)

    response = api_client_as("admin").post(reverse("api-customer-list"), CREATES["customer"][1], format="json")

    assert response.status_code == 409, response.content
    assert "unique" in response.json()["detail"]
