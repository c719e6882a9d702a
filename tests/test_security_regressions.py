"""Regressions of the security audit's fixes across apps: role, schedule and bulk beat-action
changes in the audit log, records that keep the user who made them (PROTECT), and API bodies
that broke the parser."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounting.models import ImportBatch, ReasonRequest
from reports.models import ReportSnapshot
from surveys.models import Launch
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _new_entries(before: int):
    return list(LogEntry.objects.filter(pk__gt=before).order_by("pk"))


def _last_entry_pk() -> int:
    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- Roles ---------------------------------------------------------------------------------------


def test_a_role_given_in_the_admin_is_in_the_audit_log(client, admin):
    dave = UserFactory(username="dave", role="viewer")
    client.force_login(admin)
    before = _last_entry_pk()
    data = {
        "username": "dave", "email": dave.email, "is_active": "on", "is_staff": "on",
        "groups": [Group.objects.get(name="admin").pk, Group.objects.get(name="viewer").pk],
        "date_joined_0": "2025-01-01", "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2025-01-01", "initial-date_joined_1": "00:00:00",
    }

    response = client.post(reverse("admin:auth_user_change", args=[dave.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert dave.groups.filter(name="admin").exists()
    (entry,) = [e for e in _new_entries(before) if "groups" in e.changes_dict]
    assert entry.object_pk == str(dave.pk) and entry.actor == admin
    assert entry.changes_dict["groups"]["operation"] == "add"
    assert entry.changes_dict["groups"]["objects"] == ["admin"]


@pytest.mark.parametrize("field", ["groups", "user_permissions"])
def test_a_role_or_permission_given_or_taken_is_in_the_audit_log(field):
    user = UserFactory()
    related = getattr(user, field)
    granted = Group.objects.get(name="analyst") if field == "groups" else Permission.objects.get(
        codename="delete_customer")
    before = _last_entry_pk()

    related.add(granted)
    related.remove(granted)

    entries = [e for e in _new_entries(before) if e.object_pk == str(user.pk) and field in e.changes_dict]
    assert [e.changes_dict[field]["operation"] for e in entries] == ["add", "delete"]


# --- Beat schedules ------------------------------------------------------------------------------


def test_a_change_to_a_task_crontab_is_in_the_audit_log():
    crontab = PeriodicTask.objects.filter(crontab__isnull=False).first().crontab
    before = _last_entry_pk()

    crontab.day_of_month, crontab.month_of_year = "31", "2"  # a day that never comes
    crontab.save()

    (entry,) = _new_entries(before)
    assert entry.action == LogEntry.Action.UPDATE and entry.object_pk == str(crontab.pk)
    assert {"day_of_month", "month_of_year"} <= entry.changes_dict.keys()


@pytest.mark.parametrize("make", [
    lambda: IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES),
    lambda: SolarSchedule.objects.create(event="sunset", latitude="48.85", longitude="2.35"),
    lambda: ClockedSchedule.objects.create(clocked_time=timezone.now() + dt.timedelta(days=1)),
    lambda: CrontabSchedule.objects.create(minute="0", hour="4"),
], ids=["interval", "solar", "clocked", "crontab"])
def test_a_new_schedule_is_in_the_audit_log(make):
    schedule = make()
    entries = LogEntry.objects.get_for_object(schedule)
    assert entries.filter(action=LogEntry.Action.CREATE).count() == 1


@pytest.mark.parametrize("action, enabled_before, enabled_after", [
    ("disable_tasks", [True, True], [False, False]),
    ("enable_tasks", [False, False], [True, True]),
    ("toggle_tasks", [True, False], [False, True]),
])
def test_a_bulk_action_on_beat_tasks_logs_each_task_it_switches(client, admin, action, enabled_before,
                                                                 enabled_after):
    tasks = list(PeriodicTask.objects.order_by("pk")[:2])
    assert len(tasks) == 2
    for task, enabled in zip(tasks, enabled_before, strict=True):
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=enabled)  # no signal, so not logged
    client.force_login(admin)
    before = _last_entry_pk()

    response = client.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                           {"action": action, "_selected_action": [task.pk for task in tasks]})

    assert response.status_code == 302
    assert [PeriodicTask.objects.get(pk=task.pk).enabled for task in tasks] == enabled_after
    entries = _new_entries(before)
    assert sorted(e.object_pk for e in entries) == sorted(str(task.pk) for task in tasks)  # one per task
    for entry in entries:
        assert entry.action == LogEntry.Action.UPDATE and entry.actor == admin
        task_after = PeriodicTask.objects.get(pk=entry.object_pk).enabled
        assert entry.changes_dict["enabled"] == [str(not task_after), str(task_after)]


# --- Records keep their user ---------------------------------------------------------------------


RECORDS = {
    "import": lambda user: ImportBatch.objects.create(kind="customers", source="ui", filename="c.csv",
                                                      created_by=user),
    "reason request": lambda user: ReasonRequest.objects.create(
        customer=CustomerFactory(), token_hash="a" * 64, expires_at=timezone.now() + dt.timedelta(days=3),
        created_by=user),
    "launch": lambda user: Launch.objects.create(survey=SurveyFactory(), audience="all", launched_by=user),
    "follow-up": lambda user: ResponseFactory(score=2, followed_up_at=timezone.now(), followed_up_by=user),
    "report snapshot": lambda user: ReportSnapshot.objects.create(kind="nps", period="2025", requested_by=user),
}
USER_FIELD = {
    "import": "created_by_id", "reason request": "created_by_id", "launch": "launched_by_id",
    "follow-up": "followed_up_by_id", "report snapshot": "requested_by_id",
}


@pytest.mark.parametrize("record", RECORDS)
def test_a_user_named_by_a_record_cannot_be_deleted(record):
    user = UserFactory(role="analyst")
    made = RECORDS[record](user)

    with pytest.raises(ProtectedError):
        user.delete()

    made.refresh_from_db()
    assert getattr(made, USER_FIELD[record]) == user.pk


def test_the_admin_refuses_to_delete_a_user_who_launched_a_survey(client, admin):
    bob = UserFactory(username="bobby", role="analyst")
    launch = Launch.objects.create(survey=SurveyFactory(name="Pulse"), audience="all", launched_by=bob)
    client.force_login(admin)
    url = reverse("admin:auth_user_delete", args=[bob.pk])

    page = client.get(url)
    posted = client.post(url, {"post": "yes"})

    assert page.status_code == 200 and page.context["protected"]
    assert "<title>Cannot delete user " in page.text
    assert posted.status_code == 200  # the same refusal, not a redirect to the list
    assert type(bob).objects.filter(pk=bob.pk).exists()
    launch.refresh_from_db()
    assert launch.launched_by_id == bob.pk


# --- API request bodies --------------------------------------------------------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(("method", "url"), [
    ("post", "/api/customers/"),
    ("post", "/api/customers/bulk/"),
    ("patch", "/api/customers/{customer}/"),
    ("post", "/api/revenue/"),
    ("post", "/api/costs/"),
    ("post", "/api/reason-categories/"),
    ("post", "/api/surveys/"),
    ("post", "/api/invitations/"),
    ("patch", "/api/responses/{response}/"),
])
def test_json_nested_too_deeply_is_a_400_not_a_500(api_client_as, method, url):
    # Python's JSON parser raises RecursionError, which DRF's parser (catching ValueError) let through.
    url = url.format(customer=CustomerFactory().pk, response=ResponseFactory().pk)

    response = getattr(api_client_as("admin"), method)(url, DEEP_JSON, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_a_number_too_large_for_a_float_is_a_400_not_a_500(api_client_as, number):
    """Python reads 1e400 as inf; a related id of inf raised OverflowError in DRF's lookup."""
    CustomerFactory(external_id="C1")
    body = f'{{"survey": {number}, "customer": "C1", "touchpoint": "order"}}'

    response = api_client_as("analyst").post("/api/invitations/", body, content_type="application/json")

    assert response.status_code == 400
    assert f"number out of range: {number}" in response.json()["detail"]
