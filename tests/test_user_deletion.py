"""Users who left traces (the audit log, an edit history) are deactivated, not deleted: a delete
would set the "who" of those records to null."""

import pytest
from auditlog.context import set_actor
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounting.models import ReasonCategory
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def traced_by_history(user):
    category = ReasonCategory.objects.get(slug="advertising")
    category.label, category._history_user = "Ads", user
    category.save()


def traced_by_audit_log(user):
    with set_actor(user):
        CustomerFactory()


@pytest.mark.parametrize("leave_trace", [traced_by_history, traced_by_audit_log])
def test_a_user_who_left_traces_is_not_deleted_from_the_admin(client_as, leave_trace):
    someone = UserFactory(username="leaver")
    leave_trace(someone)
    client = client_as("admin")
    url = reverse("admin:auth_user_delete", args=[someone.pk])

    page = client.get(url).content.decode()
    client.post(url, {"post": "yes"})

    assert "named in the audit log or an edit history; deactivate instead" in page
    assert get_user_model().objects.filter(pk=someone.pk).exists()


def test_the_bulk_delete_spares_users_who_left_traces(client_as):
    someone, nobody = UserFactory(username="leaver"), UserFactory(username="mistake")
    traced_by_history(someone)

    client_as("admin").post(reverse("admin:auth_user_changelist"), {
        "action": "delete_selected", "_selected_action": [someone.pk, nobody.pk], "post": "yes",
    })

    assert get_user_model().objects.filter(pk=someone.pk).exists()  # the whole bulk delete is refused
    assert get_user_model().objects.filter(pk=nobody.pk).exists()


def test_a_user_without_traces_can_be_deleted(client_as):
    mistake = UserFactory(username="mistake")

    response = client_as("admin").post(reverse("admin:auth_user_delete", args=[mistake.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=mistake.pk).exists()
