"""Report snapshots (SPEC §6): computed by a task, fingerprinted, stale when inputs change."""

import datetime as dt
import json
from decimal import Decimal as D
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounting.models import Customer
from accounting.services import customer_map_other_reason, customer_set_reason
from reports import snapshots
from reports.earned_growth import earned_growth
from reports.fingerprints import fingerprint_for, is_stale, ledger_fingerprint
from reports.models import ReportSnapshot, SnapshotKind, SnapshotStatus
from reports.periods import parse_period
from reports.snapshots import (
    MAX_INTERRUPTIONS,
    snapshot_compute,
    snapshot_is_stale,
    snapshot_latest,
    snapshot_request,
    snapshots_recompute,
)
from reports.tasks import compute_periodic_snapshots, compute_snapshot
from tests.factories import CustomerFactory, UserFactory, pay, reason

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:reports_reportsnapshot_changelist"




@pytest.fixture
def request_snapshot(django_capture_on_commit_callbacks):
    """Request a snapshot and run what was enqueued on commit (eager Celery); returns the row."""

    def make(**kwargs):
        kwargs.setdefault("period", "2025")
        with django_capture_on_commit_callbacks(execute=True):
            snapshot = snapshot_request(**kwargs)
        snapshot.refresh_from_db()
        return snapshot

    return make


@pytest.fixture
def computed(company_a, request_snapshot):
    return request_snapshot(period="2025")


# --- computing -----------------------------------------------------------------------------------


def test_it_stores_the_report_json_and_the_fingerprint(company_a, request_snapshot, analyst):
    snapshot = request_snapshot(period="2025", user=analyst)

    # Rates exact (the dashboard rounds them once, for display); the API's JSON has 6 places.
    expected = json.loads(json.dumps(earned_growth(period=parse_period("2025")).as_json(exact_rates=True)))
    assert snapshot.status == SnapshotStatus.DONE and snapshot.error == ""
    assert snapshot.figures == expected
    assert snapshot.figures["revenue"] == "130.00" and snapshot.figures["prior_revenue"] == "100.00"
    assert snapshot.fingerprint == ledger_fingerprint()
    assert snapshot.fingerprint["ledger_rows"] == 6 and snapshot.fingerprint["ledger_sum"] == "230.00"
    assert snapshot.computed_at is not None and snapshot.requested_by == analyst
    assert not snapshot_is_stale(snapshot)


def test_it_passes_compare_grain_and_segment_to_the_report(company_a, request_snapshot):
    snapshot = request_snapshot(period="2025-q3", compare="yoy", grain="customer", segment="SMB")

    parameters = (snapshot.period, snapshot.compare, snapshot.grain, snapshot.segment)
    assert parameters == ("2025-Q3", "yoy", "customer", "SMB")
    assert snapshot.figures["prior_period"] == "2024-Q3" and snapshot.figures["segment"] == "SMB"
    assert snapshot.figures["grain"] == "customer"


def test_a_repeated_request_recomputes_the_same_row(computed, request_snapshot):
    pay(CustomerFactory(reason=reason("recommendation")), "2025-09-01", "10.00")

    again = request_snapshot(period=" 2025 ")

    assert again.pk == computed.pk and ReportSnapshot.objects.count() == 1
    assert again.figures["revenue"] == "140.00" and again.status == SnapshotStatus.DONE


def test_it_refuses_bad_parameters(db):
    with pytest.raises(ValidationError) as error:
        snapshot_request(kind="churn", period="2025-13", grain="galaxy", compare="later")

    assert set(error.value.message_dict) == {"kind", "period", "grain", "compare"}
    assert not ReportSnapshot.objects.exists()


def test_the_selector_finds_the_snapshot_of_the_parameters(computed):
    assert snapshot_latest(period="2025") == computed
    assert snapshot_latest(period="2025", segment="SMB") is None
    assert snapshot_latest(period="not a period") is None


# --- staleness -----------------------------------------------------------------------------------


def test_a_new_revenue_entry_makes_it_stale(computed):
    pay(CustomerFactory(), "2023-01-01", "0.01")

    assert snapshot_is_stale(computed)
    assert ledger_fingerprint()["ledger_rows"] == 7


def test_changing_a_reason_category_kind_makes_it_stale(computed):
    category = reason("promotion")
    category.kind = "earned"
    category.save()

    assert snapshot_is_stale(computed)


def test_mapping_an_other_answer_makes_it_stale(company_a, request_snapshot):
    answered = CustomerFactory()
    customer_set_reason(customer=answered, reason=reason("other"), text="saw it at a fair", source="ui")
    snapshot = request_snapshot(period="2025")

    customer_map_other_reason(customer=answered, category=reason("reputation"))

    assert snapshot_is_stale(snapshot)


def test_a_customer_answering_the_reason_question_makes_it_stale(computed):
    customer_set_reason(customer=CustomerFactory(), reason=reason("recommendation"), source="email")

    assert snapshot_is_stale(computed)


def test_two_answers_swapping_categories_make_it_stale(company_a, request_snapshot):
    first, second = CustomerFactory(reason=reason("other")), CustomerFactory(reason=reason("other"))
    customer_map_other_reason(customer=first, category=reason("recommendation"))
    customer_map_other_reason(customer=second, category=reason("advertising"))
    snapshot = request_snapshot(period="2025")

    customer_map_other_reason(customer=first, category=reason("advertising"))
    customer_map_other_reason(customer=second, category=reason("recommendation"))

    assert snapshot_is_stale(snapshot)


def test_an_unrelated_change_leaves_it_fresh(computed):
    customer = Customer.objects.first()
    customer.name = "Renamed"
    customer.email = "renamed@customer.example.com"
    customer.save()

    assert not snapshot_is_stale(computed)


# --- restatement (SPEC §2: reports record the classification they used) -----------------------------


def test_the_fingerprint_records_the_class_of_each_category(computed):
    assert computed.fingerprint["classification"]["promotion"] == "bought"
    assert computed.fingerprint["classification"]["recommendation"] == "earned"
    assert computed.restated_from == {}


def test_a_recompute_after_a_reclassification_keeps_the_figures_it_restates(computed, request_snapshot):
    category = reason("promotion")
    category.kind = "earned"
    category.save()

    restated = request_snapshot(period="2025")

    assert D(restated.figures["earned_growth_rate"]) == D("0.30")  # the promotion's 20 now earned
    before = restated.restated_from
    assert D(before["figures"]["earned_growth_rate"]) == D("0.10")
    assert before["fingerprint"]["classification"]["promotion"] == "bought"
    assert before["computed_at"] == computed.computed_at.isoformat()
    assert restated.fingerprint["classification"]["promotion"] == "earned"


def test_a_recompute_under_the_same_classification_restates_nothing(computed, request_snapshot):
    pay(Customer.objects.first(), "2025-12-01", "10.00")

    recomputed = request_snapshot(period="2025")

    assert recomputed.figures != computed.figures
    assert recomputed.restated_from == {}


def test_the_dashboard_says_what_a_restatement_changed(computed, request_snapshot, client_as):
    category = reason("promotion")
    category.kind = "earned"
    category.save()
    request_snapshot(period="2025")

    page = client_as("viewer").get(reverse("reports:earned-growth"), {"period": "2025"}).content.decode()

    assert "after the reason classification changed (promotion)" in page
    assert "the earned growth rate was 10.0%" in page


def test_a_snapshot_never_computed_is_not_fresh(db):
    assert is_stale(ReportSnapshot(kind="earned_growth", period="2025"))


def test_the_fingerprint_costs_the_same_few_queries_whatever_the_data(company_a, django_assert_num_queries):
    with django_assert_num_queries(4):  # ledger count+sum, categories, category history, customers
        ledger_fingerprint()


# --- failures and claims -------------------------------------------------------------------------


def fail_with(exc):
    return mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": mock.Mock(side_effect=exc)})


def test_a_failing_compute_marks_it_failed_and_raises(computed, request_snapshot):
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.PENDING)

    with fail_with(ValueError("boom")), pytest.raises(ValueError, match="boom"):
        snapshot_compute(snapshot_id=computed.pk)

    computed.refresh_from_db()
    assert computed.status == SnapshotStatus.FAILED and computed.error == "ValueError: boom"
    assert computed.figures["revenue"] == "130.00"  # the last good figures stay


def test_a_transient_database_error_is_retried_then_left_failed(computed, eager_retries):
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.PENDING)
    failing = mock.Mock(side_effect=OperationalError("server closed the connection"))

    with mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": failing}):
        result = compute_snapshot.delay(computed.pk)

    assert result.failed() and isinstance(result.result, OperationalError)
    assert failing.call_count == 4  # the first try and 3 retries
    computed.refresh_from_db()
    assert computed.status == SnapshotStatus.FAILED
    assert computed.error == "OperationalError: server closed the connection"


def test_a_transient_error_that_passes_is_computed_on_retry(computed, eager_retries):
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.PENDING, figures={})
    figures = snapshots.COMPUTERS["earned_growth"](computed)
    flaky = mock.Mock(side_effect=[OperationalError("deadlock detected"), figures])

    with mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": flaky}):
        assert compute_snapshot.delay(computed.pk).get() == "computed"

    computed.refresh_from_db()
    assert computed.status == SnapshotStatus.DONE and computed.figures["revenue"] == "130.00"


def test_a_non_transient_error_is_not_retried(computed):
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.PENDING)
    failing = mock.Mock(side_effect=ZeroDivisionError("bug"))

    with mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": failing}), pytest.raises(ZeroDivisionError):
        compute_snapshot.delay(computed.pk)

    assert failing.call_count == 1


def test_a_snapshot_being_computed_is_not_computed_twice(computed):
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.RUNNING, started_at=timezone.now())

    assert snapshot_compute(snapshot_id=computed.pk) is None
    assert compute_snapshot.delay(computed.pk).get() == "skipped"


def test_a_done_snapshot_is_not_computed_again_by_a_duplicate_message(computed):
    with mock.patch.object(snapshots, "earned_growth") as report:
        assert snapshot_compute(snapshot_id=computed.pk) is None

    report.assert_not_called()


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over(computed):
    long_ago = timezone.now() - dt.timedelta(hours=3)
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.RUNNING, started_at=long_ago)

    assert snapshot_compute(snapshot_id=computed.pk).status == SnapshotStatus.DONE


def test_a_request_during_the_computation_supersedes_it(computed):
    ReportSnapshot.objects.filter(pk=computed.pk).update(status=SnapshotStatus.PENDING, figures={})

    def requested_meanwhile(snapshot):
        ReportSnapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.PENDING)
        return {"revenue": "stale"}

    with mock.patch.dict(snapshots.COMPUTERS, {"earned_growth": requested_meanwhile}):
        assert snapshot_compute(snapshot_id=computed.pk) is None

    computed.refresh_from_db()
    assert computed.status == SnapshotStatus.PENDING and computed.figures == {}


# --- permissions ---------------------------------------------------------------------------------


def test_it_rejects_a_viewer(viewer):
    with pytest.raises(PermissionDenied):
        snapshot_request(period="2025", user=viewer)

    assert not ReportSnapshot.objects.exists()


def test_it_lets_an_analyst_and_the_schedule_request(company_a, request_snapshot, analyst):
    assert request_snapshot(period="2025", user=analyst).status == SnapshotStatus.DONE
    assert request_snapshot(period="2025", user=None).requested_by is None


# --- the nightly schedule ------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2025, 8, 15, 12, tzinfo=dt.UTC), tick=False)
def test_the_nightly_task_computes_the_current_and_last_periods_once(company_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        compute_periodic_snapshots.delay()
    with django_capture_on_commit_callbacks(execute=True):
        compute_periodic_snapshots.delay()

    periods = ["2024", "2025", "2025-07", "2025-08", "2025-Q2", "2025-Q3"]
    assert sorted(ReportSnapshot.objects.filter(kind="nps").values_list("period", flat=True)) == periods
    rows = ReportSnapshot.objects.filter(kind="earned_growth")
    assert sorted(rows.values_list("period", flat=True)) == periods
    assert {(s.kind, s.compare, s.grain, s.segment, s.status) for s in rows} == {
        ("earned_growth", "prior", "entity", "", SnapshotStatus.DONE)
    }
    assert rows.get(period="2025").figures["revenue"] == "130.00"


def test_the_nightly_task_re_enqueues_a_snapshot_stuck_pending(computed, django_capture_on_commit_callbacks):
    stuck = ReportSnapshot.objects.create(kind="earned_growth", period="2021", segment="Enterprise")
    ReportSnapshot.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - dt.timedelta(hours=3))

    with django_capture_on_commit_callbacks(execute=True):
        compute_periodic_snapshots.delay(periods=["year"])

    stuck.refresh_from_db()
    assert stuck.status == SnapshotStatus.DONE and stuck.figures["period"] == "2021"


def test_a_migration_schedules_the_nightly_task_for_the_admin_to_edit(db):
    task = PeriodicTask.objects.select_related("crontab").get(name="Nightly report snapshots")

    assert task.task == "reports.tasks.compute_periodic_snapshots" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("30", "2", settings.TIME_ZONE)
    assert json.loads(task.kwargs) == {"kinds": ["earned_growth", "nps"], "periods": ["year", "quarter", "month"]}
    assert task.task in compute_periodic_snapshots.app.tasks


@time_machine.travel(dt.datetime(2025, 8, 15, 12, tzinfo=dt.UTC), tick=False)
def test_the_nightly_task_as_scheduled_computes_the_nps_snapshots_too(company_a, django_capture_on_commit_callbacks):
    """Beat sends the task's stored kwargs, never none: 0003 stored earned growth alone, before NPS
    snapshots existed, and the README says the nightly run keeps both."""
    task = PeriodicTask.objects.get(name="Nightly report snapshots")

    with django_capture_on_commit_callbacks(execute=True):
        compute_periodic_snapshots.apply(kwargs=json.loads(task.kwargs))  # what beat sends at 02:30

    kinds = ReportSnapshot.objects.filter(period="2025").values_list("kind", flat=True)
    assert sorted(kinds) == ["earned_growth", "nps"], "beat's nightly run computes no NPS snapshot"


def nightly_kwargs_after_upgrade(kwargs: dict | str) -> dict | str:
    """Run 0010 on the nightly task holding these kwargs; the kwargs it holds after."""
    from importlib import import_module

    from django.apps import apps

    upgrade = import_module("reports.migrations.0010_nightly_snapshots_compute_nps")
    stored = kwargs if isinstance(kwargs, str) else json.dumps(kwargs)
    PeriodicTask.objects.filter(name="Nightly report snapshots").update(kwargs=stored)
    upgrade.add_nps(apps, None)
    kept = PeriodicTask.objects.get(name="Nightly report snapshots").kwargs
    return kept if isinstance(kwargs, str) else json.loads(kept)


def test_the_upgrade_adds_nps_to_the_nightly_kwargs_0003_stored_and_tells_beat(db):
    from django_celery_beat.models import PeriodicTasks

    before = PeriodicTasks.last_change()
    old_default = {"kinds": ["earned_growth"], "periods": ["year", "quarter", "month"]}

    with time_machine.travel(dt.timedelta(minutes=5)):
        kwargs = nightly_kwargs_after_upgrade(old_default)

    assert kwargs == {"kinds": ["earned_growth", "nps"], "periods": ["year", "quarter", "month"]}
    assert PeriodicTasks.last_change() > before  # a running beat reloads its schedule


@pytest.mark.parametrize("edited", [
    {"kinds": ["earned_growth"], "periods": ["year"]},
    {"kinds": ["nps"], "periods": ["year", "quarter", "month"]},
    {},
    "not JSON",
])
def test_the_upgrade_keeps_nightly_kwargs_an_admin_edited(db, edited):
    assert nightly_kwargs_after_upgrade(edited) == edited


# --- admin ---------------------------------------------------------------------------------------


@pytest.fixture
def fresh_and_stale(company_a, request_snapshot):
    stale = request_snapshot(period="2024")
    pay(CustomerFactory(), "2025-12-01", "1.00")
    fresh = request_snapshot(period="2025")
    never = ReportSnapshot.objects.create(kind="earned_growth", period="2023")
    return fresh, stale, never


def test_the_admin_lists_snapshots_with_a_stale_flag(client, admin, fresh_and_stale):
    client.force_login(admin)

    with mock.patch("reports.admin.fingerprint_for", wraps=fingerprint_for) as fingerprint:
        page = client.get(reverse(CHANGELIST))

    assert page.status_code == 200
    assert fingerprint.call_count == len(SnapshotKind.values)  # once per page and kind, not once per row
    html = page.content.decode()
    assert "column-stale" in html
    assert html.count('alt="True"') == 1 and html.count('alt="False"') == 1 and html.count('alt="None"') == 1
    assert "Recompute selected" in html
    assert reverse("admin:reports_reportsnapshot_add") not in html


def test_the_admin_adds_changes_and_deletes_nothing(client, admin, fresh_and_stale):
    fresh = fresh_and_stale[0]
    client.force_login(admin)

    assert client.get(reverse("admin:reports_reportsnapshot_add")).status_code == 403
    assert client.post(reverse("admin:reports_reportsnapshot_delete", args=[fresh.pk])).status_code == 403
    view = client.get(reverse("admin:reports_reportsnapshot_change", args=[fresh.pk]))
    assert view.status_code == 200 and "Save" not in view.content.decode()
    client.post(reverse("admin:reports_reportsnapshot_change", args=[fresh.pk]), {"period": "1999"})
    fresh.refresh_from_db()
    assert fresh.period == "2025"


def test_an_admin_recomputes_the_selected_snapshots(client, admin, fresh_and_stale, django_capture_on_commit_callbacks):
    stale = fresh_and_stale[1]
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse(CHANGELIST), {"action": "recompute_selected", "_selected_action": [stale.pk]})

    assert page.status_code == 302
    stale.refresh_from_db()
    assert not snapshot_is_stale(stale) and stale.requested_by == admin and stale.status == SnapshotStatus.DONE


def test_an_analyst_cannot_recompute_through_the_admin(client, analyst, fresh_and_stale):
    stale = fresh_and_stale[1]
    client.force_login(analyst)  # not staff

    page = client.post(reverse(CHANGELIST), {"action": "recompute_selected", "_selected_action": [stale.pk]})

    assert page.status_code == 302 and "/login/" in page["Location"]
    stale.refresh_from_db()
    assert snapshot_is_stale(stale) and stale.requested_by is None


def test_a_staff_viewer_is_not_offered_the_recompute_action(client, fresh_and_stale):
    viewer = UserFactory(role="viewer", is_staff=True)
    stale = fresh_and_stale[1]
    client.force_login(viewer)

    page = client.get(reverse(CHANGELIST))
    client.post(reverse(CHANGELIST), {"action": "recompute_selected", "_selected_action": [stale.pk]})

    assert page.status_code == 200 and "Recompute selected" not in page.content.decode()
    stale.refresh_from_db()
    assert stale.requested_by is None and snapshot_is_stale(stale)


def test_recomputing_selected_snapshots_costs_the_same_queries_for_2_as_for_40(client, admin):
    client.force_login(admin)

    def queries_for(count: int) -> int:
        ReportSnapshot.objects.all().delete()
        ids = [ReportSnapshot.objects.create(kind="nps", period=f"{2000 + i}").pk for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            page = client.post(reverse(CHANGELIST), {"action": "recompute_selected", "_selected_action": ids})
        assert page.status_code == 302
        assert ReportSnapshot.objects.filter(pk__in=ids, status=SnapshotStatus.PENDING).count() == count
        return len(queries.captured_queries)

    few, many = queries_for(2), queries_for(40)

    # Was get_or_create, update and refresh per snapshot: 29 queries for 2, 219 for 40.
    assert many == few, f"{few} queries for 2 snapshots, {many} for 40"


def test_recomputing_selected_snapshots_resets_them_as_a_request_does_and_queues_each(
    client, admin, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - dt.timedelta(days=3)
    failed = ReportSnapshot.objects.create(kind="nps", period="2024", status=SnapshotStatus.FAILED,
                                           error="boom", interruptions=MAX_INTERRUPTIONS)
    done = ReportSnapshot.objects.create(kind="earned_growth", period="2025-Q1", status=SnapshotStatus.DONE)
    ReportSnapshot.objects.filter(pk__in=[failed.pk, done.pk]).update(updated_at=long_ago)
    client.force_login(admin)

    with mock.patch.object(compute_snapshot, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse(CHANGELIST), {"action": "recompute_selected",
                                                 "_selected_action": [failed.pk, done.pk]}, follow=True)

    assert "Recompute requested for 2 snapshot(s)." in page.content.decode()
    assert sorted(call.args for call in delay.call_args_list) == sorted([(failed.pk,), (done.pk,)])
    for snapshot in (failed, done):
        snapshot.refresh_from_db()
        assert (snapshot.status, snapshot.error, snapshot.requested_by, snapshot.interruptions) == (
            SnapshotStatus.PENDING, "", admin, 0)
        assert snapshot.updated_at > long_ago


def test_an_admin_recomputes_several_selected_snapshots(client, admin, fresh_and_stale,
                                                        django_capture_on_commit_callbacks):
    fresh, stale, never = fresh_and_stale
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(CHANGELIST), {"action": "recompute_selected", "_selected_action": [stale.pk, never.pk]})

    for snapshot in (stale, never):
        snapshot.refresh_from_db()
        assert snapshot.status == SnapshotStatus.DONE and not snapshot_is_stale(snapshot)
        assert snapshot.requested_by == admin


def test_recomputing_rejects_a_viewer_and_changes_nothing(viewer):
    snapshot = ReportSnapshot.objects.create(kind="nps", period="2024", status=SnapshotStatus.DONE)

    with pytest.raises(PermissionDenied):
        snapshots_recompute(ReportSnapshot.objects.all(), user=viewer)

    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.DONE
