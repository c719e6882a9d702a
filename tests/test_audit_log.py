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


def test_a_survey_edit_and_a_follow_up_are_logged(client, analyst):
    survey = SurveyFactory(name="Pulse")
    response = ResponseFactory(invitation__survey=survey, score=2)
    client.force_login(analyst)
    client.post(reverse("surveys:response-follow-up", args=[response.pk]), {"note": "Called back", "done": "on"})
    entries = LogEntry.objects.get_for_object(Response.objects.get(pk=response.pk))
    assert entries.filter(actor=analyst).exists()
    assert all(set(e.changes_dict) <= {"followed_up_at", "followed_up_by", "follow_up_note"} for e in entries)


def test_a_customer_answer_is_not_logged(client):
    """What customers write is theirs; only staff follow-ups are audited."""
    response = ResponseFactory(score=9)
    response.reason = "changed by the customer"
    response.save()
    assert not LogEntry.objects.get_for_object(response).filter(action=LogEntry.Action.UPDATE).exists()


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
