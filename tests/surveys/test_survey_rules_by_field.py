"""A survey's audience and reminder rules (surveys.rules): the staff form, the admin and the API
refuse alike, each beside the field with the same words, never the database constraint's name."""

import pytest
from django.urls import reverse

from surveys.models import REMINDER_AFTER_EXPIRY, AudienceKind, Survey
from surveys.rules import LIST_NOT_RELAUNCHED, PERCENT_MISSING, SEGMENT_MISSING
from tests.factories import SurveyFactory
from tests.form_data import admin_change_data, survey_form_data

pytestmark = pytest.mark.django_db

# (what is posted, the field refused, what it says)
BROKEN_RULES = [
    ({"audience": "segment"}, "audience_segment", SEGMENT_MISSING),
    ({"audience": "sample"}, "sample_percent", PERCENT_MISSING),
    ({"reminder_days": 40, "expiry_days": 30}, "reminder_days", REMINDER_AFTER_EXPIRY),
    # The API answered the constraint's words under `__all__`, the admin above the form.
    ({"audience": "list", "repeat_days": 7}, "repeat_days", LIST_NOT_RELAUNCHED),
]
RULE_IDS = ["segment-without-segment", "sample-without-percent", "reminder-after-expiry", "schedule-on-a-list"]


@pytest.mark.parametrize(("body", "field", "message"), BROKEN_RULES, ids=RULE_IDS)
def test_staff_form_names_the_field_of_a_survey_rule(client_as, body, field, message):
    response = client_as("admin").post(reverse("surveys:survey-create"), survey_form_data(name="Rules", **body))

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]


@pytest.mark.parametrize(("body", "field", "message"), BROKEN_RULES, ids=RULE_IDS)
def test_api_names_the_field_of_a_survey_rule_as_the_staff_form_does(api_client_as, body, field, message):
    response = api_client_as("admin").post("/api/surveys/", {"name": "Rules", **body}, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert errors == {field: [message]}, errors
    assert not Survey.objects.filter(name="Rules").exists()


@pytest.mark.parametrize(("body", "field", "message"), BROKEN_RULES, ids=RULE_IDS)
def test_admin_says_what_is_missing_as_the_staff_form_does(client_as, body, field, message):
    survey = SurveyFactory()
    client = client_as("admin")
    url = reverse("admin:surveys_survey_change", args=[survey.pk])

    form = client.post(url, admin_change_data(client, url, **body)).context["adminform"].form

    assert form.errors[field] == [message], form.errors
    assert "Constraint" not in str(form.errors)


def test_api_patch_checks_the_rule_against_the_settings_it_leaves_as_stored(api_client_as):
    survey = SurveyFactory(expiry_days=30)

    response = api_client_as("admin").patch(f"/api/surveys/{survey.pk}/", {"reminder_days": 30}, format="json")

    assert response.status_code == 400
    assert response.json() == {"reminder_days": [REMINDER_AFTER_EXPIRY]}


def test_api_patch_to_a_segment_audience_asks_for_the_segment(api_client_as):
    survey = SurveyFactory()

    response = api_client_as("admin").patch(f"/api/surveys/{survey.pk}/", {"audience": "segment"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"audience_segment": [SEGMENT_MISSING]}
    assert Survey.objects.get(pk=survey.pk).audience == AudienceKind.ALL


def test_api_patch_of_a_schedule_on_a_list_survey_says_so_beside_the_field(api_client_as):
    survey = SurveyFactory(audience=AudienceKind.LIST)

    response = api_client_as("admin").patch(f"/api/surveys/{survey.pk}/", {"repeat_days": 7}, format="json")

    assert response.status_code == 400
    assert response.json() == {"repeat_days": [LIST_NOT_RELAUNCHED]}
    assert Survey.objects.get(pk=survey.pk).repeat_days is None


def test_a_percentage_that_is_not_a_number_gets_one_message_in_the_admin(client_as):
    survey = SurveyFactory()
    client = client_as("admin")
    url = reverse("admin:surveys_survey_change", args=[survey.pk])

    form = client.post(url, admin_change_data(client, url, audience="sample", sample_percent="12,5")).context[
        "adminform"
    ].form

    assert PERCENT_MISSING not in form.errors["sample_percent"], form.errors
