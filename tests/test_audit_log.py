"""The audit log of staff actions that change data: who, what, when."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from accounting.models import Customer
from surveys.models import Response
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


def test_role_changes_are_logged_without_passwords(admin):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory()
    user.set_password("another long secret")
    user.save()
    user.groups.add(Group.objects.get(name="viewer"))
    entries = LogEntry.objects.get_for_object(user)
    assert entries.exists() and all("password" not in e.changes_dict for e in entries)


def test_admins_read_the_audit_log_and_nobody_edits_it(client, admin, analyst):
    client.force_login(admin)
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 200
    assert not admin.has_perm("auditlog.change_logentry") and not admin.has_perm("auditlog.delete_logentry")
    client.force_login(analyst)
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 302
