"""The audit log of staff actions that change data: who, what, when."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import Customer, ReasonCategory
from accounting.services import reason_request_create
from surveys.models import Response, Survey
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, reason

pytestmark = pytest.mark.django_db


def test_a_reason_set_by_staff_is_logged_with_who_what_and_when(client_as, analyst):
    customer = CustomerFactory()
    client = client_as(None)
    client.force_login(analyst)
    client.post(reverse("accounting:customer-reason", args=[customer.pk]),
                {"reason": reason("recommendation").pk, "reason_text": ""})
    entry = LogEntry.objects.get_for_object(Customer.objects.get(pk=customer.pk)).filter(
        action=LogEntry.Action.UPDATE).latest("timestamp")
    assert entry.actor == analyst and entry.timestamp is not None
    assert "reason" in entry.changes_dict


def test_a_customers_own_reason_text_is_logged_as_changed_without_its_words(client, fresh_rate_limits):
    """What customers write stays out of the log: "other" typed on the reason page is their words."""
    customer = CustomerFactory(language="en")
    token = reason_request_create(customer=customer).token
    words = "My neighbour Jo Bloggs at 12 Rue X told me about you"

    answered = client.post(reverse("reason-answer", args=[token]), {"reason": reason("other").pk, "reason_text": words})

    assert answered.status_code == 303
    assert Customer.objects.get(pk=customer.pk).reason_text == words
    entry = LogEntry.objects.get_for_object(customer).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert "reason_text" in entry.changes_dict
    assert not LogEntry.objects.filter(changes_text__contains="Jo Bloggs").exists()
    assert all("Jo Bloggs" not in str(logged.changes) for logged in LogEntry.objects.all())


def test_a_follow_up_is_recorded_with_who_and_when_in_the_response_history(client, analyst):
    survey = SurveyFactory(name="Pulse")
    response = ResponseFactory(invitation__survey=survey, score=2)
    client.force_login(analyst)
    client.post(reverse("surveys:response-follow-up", args=[response.pk]), {"note": "Called back", "done": "on"})
    latest = Response.objects.get(pk=response.pk).history.latest()
    assert latest.history_user == analyst and latest.follow_up_note == "Called back"


def test_a_survey_edit_is_logged(client, admin):
    survey = SurveyFactory(name="Pulse")
    survey.name = "Pulse 2"
    survey.save()
    assert LogEntry.objects.get_for_object(survey).filter(action=LogEntry.Action.UPDATE).exists()


def test_role_changes_are_logged_and_a_password_change_without_its_value(admin):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory()
    user.set_password("another long secret")
    user.save()
    user.groups.add(Group.objects.get(name="viewer"))
    entries = LogEntry.objects.get_for_object(user)
    # That the password changed is logged (who reset whose password), never a hash or part of one.
    passwords = [e.changes_dict["password"] for e in entries if "password" in e.changes_dict]
    assert passwords and all(change == ["********", "********"] for change in passwords)
    assert all(user.password[-20:] not in str(e.changes_dict) for e in entries)


def test_admins_read_the_audit_log_and_nobody_edits_it(client, admin, analyst):
    client.force_login(admin)
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 200
    assert not admin.has_perm("auditlog.change_logentry") and not admin.has_perm("auditlog.delete_logentry")
    client.force_login(analyst)
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 302


# --- Changes through the API: the actor is the token's user (auditlog's middleware ran before DRF
# had authenticated the token, and logged every integration's change with no actor).


def _token_client(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
    return api


def _latest_entry_of(model, **lookup):
    return LogEntry.objects.get_for_object(model.objects.get(**lookup)).latest("timestamp")


@pytest.mark.parametrize("change", ["customer-edit", "customer-add", "category-edit", "survey-edit"])
def test_a_change_made_with_an_api_token_is_logged_with_the_tokens_user(admin, change):
    customer, survey = CustomerFactory(external_id="C1"), SurveyFactory(name="Pulse")
    requests = {
        "customer-edit": ("patch", f"/api/customers/{customer.pk}/", {"name": "New"}, Customer, {"pk": customer.pk}),
        "customer-add": ("post", "/api/customers/", {"external_id": "N1"}, Customer, {"external_id": "N1"}),
        "category-edit": ("patch", "/api/reason-categories/advertising/", {"label": "Ads"}, ReasonCategory,
                          {"slug": "advertising"}),
        "survey-edit": ("patch", f"/api/surveys/{survey.pk}/", {"name": "Pulse 2"}, Survey, {"pk": survey.pk}),
    }
    method, url, body, model, lookup = requests[change]

    response = getattr(_token_client(admin), method)(url, body, format="json")

    assert response.status_code in (200, 201), response.content
    assert _latest_entry_of(model, **lookup).actor == admin


def test_a_change_made_through_the_api_in_a_web_session_keeps_its_actor(analyst):
    customer = CustomerFactory()
    api = APIClient()
    api.force_login(analyst)

    response = api.patch(f"/api/customers/{customer.pk}/", {"name": "New"}, format="json")

    assert response.status_code == 200, response.content
    assert _latest_entry_of(Customer, pk=customer.pk).actor == analyst
