"""The Django admin's history "Revert" (a POST to a past version's page): it needs what an edit
needs, and it cannot take back an anonymous survey's promise."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounting.models import ReasonCategory, ReasonKind
from tests.factories import ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


def past_version_url(admin_name: str, obj, version) -> str:
    return reverse(f"admin:{admin_name}_simple_history", args=[obj.pk, version.history_id])


def test_reverting_a_survey_to_before_it_was_anonymous_keeps_it_anonymous(client, admin):
    survey = SurveyFactory(name="Pulse", anonymous=False)
    before = survey.history.earliest()
    survey.name, survey.anonymous = "Staff pulse", True
    survey.save()
    client.force_login(admin)
    data = {"name": "Pulse", "kind": "relationship", "status": "draft", "question": survey.question,
            "expiry_days": 30, "throttle_days": 90, "audience": "all"}  # "anonymous" unticked, as it was then

    response = client.post(past_version_url("surveys_survey", survey, before), data)

    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.name, survey.anonymous) == ("Pulse", True)  # reverted, the promise kept


def test_a_read_only_record_is_not_reverted_even_by_a_superuser(client):
    answer = ResponseFactory(score=9)
    before = answer.history.earliest()
    answer.score = 3
    answer.save()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(past_version_url("surveys_response", answer, before), {})

    assert response.status_code == 403
    answer.refresh_from_db()
    assert answer.score == 3


def test_a_staff_user_who_may_only_view_reason_categories_cannot_revert_one(client):
    category = ReasonCategory.objects.create(label="Old label", slug="audit-old", kind=ReasonKind.EARNED)
    before = category.history.earliest()
    category.label = "Current label"
    category.save()
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_reasoncategory"))
    client.force_login(viewer)
    data = {"label": "Old label", "slug": "audit-old", "kind": "earned", "is_active": "on", "order": 0}

    response = client.post(past_version_url("accounting_reasoncategory", category, before), data)

    assert response.status_code == 403
    category.refresh_from_db()
    assert category.label == "Current label"
