"""/api/surveys/: CRUD with progress, constraints as 400s, launch, delete rules."""

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from surveys.models import Survey
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def test_the_list_carries_each_survey_progress(api_client_as, django_assert_max_num_queries):
    survey = SurveyFactory(name="NPS")
    InvitationFactory.create_batch(3, survey=survey)
    ResponseFactory(invitation__survey=survey)
    for i in range(10):
        SurveyFactory(name=f"S{i}")
    api = api_client_as("analyst")

    # token (2), permissions (2), count, page, the progress of the page's surveys
    with django_assert_max_num_queries(7):
        response = api.get(reverse("api-survey-list"), {"search": "NPS"})

    (item,) = response.json()["results"]
    assert item["progress"]["audience"] == 4
    assert item["progress"]["delivered"] == 4
    assert item["progress"]["response_rate"] == 0.25


def test_creating_a_survey_makes_the_caller_its_owner(api_client_as):
    response = api_client_as("analyst").post(
        reverse("api-survey-list"), {"name": "Churn", "kind": "transactional"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["owner"].startswith("user")
    assert response.json()["progress"]["audience"] == 0
    assert Survey.objects.get(name="Churn").kind == "transactional"


def test_a_constraint_violation_is_a_400_not_a_500(api_client_as):
    response = api_client_as("admin").post(
        reverse("api-survey-list"), {"name": "Seg", "audience": "segment"}, format="json"
    )
    assert response.status_code == 400


def test_a_duplicate_name_is_a_field_error(api_client_as):
    SurveyFactory(name="NPS")
    response = api_client_as("admin").post(reverse("api-survey-list"), {"name": "NPS"}, format="json")
    assert response.status_code == 400 and "name" in response.json()


def test_an_anonymous_survey_cannot_be_made_non_anonymous(api_client_as):
    survey = SurveyFactory(anonymous=True)
    url = reverse("api-survey-detail", args=[survey.pk])
    response = api_client_as("admin").patch(url, {"anonymous": False}, format="json")
    assert response.status_code == 400
    survey.refresh_from_db()
    assert survey.anonymous


def test_a_survey_with_invitations_is_not_deleted(api_client_as):
    survey = InvitationFactory().survey
    response = api_client_as("admin").delete(reverse("api-survey-detail", args=[survey.pk]))
    assert response.status_code == 409
    # {"detail": ...} as every other error, not a bare list
    assert response.json() == {"detail": "This survey has been launched; set its status to closed instead."}
    assert Survey.objects.filter(pk=survey.pk).exists()


def test_the_schema_documents_each_409_with_its_detail():
    operations = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    conflicts = {
        method: operations[path][method]["responses"].get("409", {})
        for path, method in [
            ("/api/surveys/{id}/", "delete"), ("/api/surveys/", "post"),
            ("/api/surveys/{id}/", "put"), ("/api/surveys/{id}/", "patch"),
        ]
    }

    detail = {"$ref": "#/components/schemas/ErrorDetail"}
    assert {method: documented.get("content") for method, documented in conflicts.items()} == {
        method: {"application/json": {"schema": detail}} for method in conflicts
    }


def test_launching_by_api_invites_the_segment(api_client_as):
    CustomerFactory(segment="SMB")
    CustomerFactory(segment="Enterprise")
    survey = SurveyFactory()

    response = api_client_as("analyst").post(
        reverse("api-survey-launch", args=[survey.pk]), {"segment": "Enterprise"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["audience_size"] == 1


def test_launching_a_transactional_survey_is_a_400(api_client_as):
    survey = SurveyFactory(kind="transactional")
    response = api_client_as("analyst").post(reverse("api-survey-launch", args=[survey.pk]), {}, format="json")
    assert response.status_code == 400
    assert not survey.launches.exists()
