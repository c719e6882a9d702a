"""Upgrading an installation: the data migrations over data an earlier release could hold.

- django-celery-beat's interval and crontab schedules are not unique (its admin saves duplicates):
  the schedule migrations took them by get_or_create, and one duplicate stopped `migrate` (and
  `run.py serve`) with MultipleObjectsReturned.
- surveys 0009 only added the one-line validator of sender names: a name with a line break saved
  before failed every email of its survey on the From header, until surveys 0017.
- An invitation failed as interrupted while sending (maybe delivered) got no expiry before its
  claim set one: its link never expired, until surveys 0018.
"""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from surveys import sending
from surveys.models import InvitationState, Response, Survey
from tests.factories import InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(*targets):
    """The database at these migrations; the historical models there."""
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    executor.loader.build_graph()
    return executor.loader.project_state(list(targets)).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def twice(model, **fields):
    """Two rows of this schedule (the migrations made one; a flush between tests may have not)."""
    while model.objects.filter(**fields).count() < 2:
        model.objects.create(**fields)


@pytest.fixture(autouse=True)
def back_to_latest():
    yield
    # Drop the duplicates again (no task uses them) so that the teardown itself can migrate.
    IntervalSchedule.objects.filter(periodictask__isnull=True).delete()
    CrontabSchedule.objects.filter(periodictask__isnull=True).delete()
    MigrationExecutor(connection).migrate(latest())


def test_upgrade_across_reports_0009_with_a_duplicate_five_minute_interval():
    # A release before the snapshot sweeper; an admin added a task on a new "every 5 minutes".
    migrate(("reports", "0008_snapshot_interruptions"))
    assert not PeriodicTask.objects.filter(name="Report snapshot sweeper").exists()
    twice(IntervalSchedule, every=5, period="minutes")

    migrate(("reports", "0010_nightly_snapshots_compute_nps"))  # was MultipleObjectsReturned

    assert PeriodicTask.objects.filter(name="Report snapshot sweeper").count() == 1


def test_upgrade_across_accounting_0013_with_a_duplicate_hourly_interval():
    migrate(("surveys", "0015_suppressed_address_idn_forms"), ("accounting", "0012_rollup_amount_wider"))
    assert not PeriodicTask.objects.filter(name="Stale import sweeper").exists()
    twice(IntervalSchedule, every=1, period="hours")

    migrate(("accounting", "0015_customer_delete_refused_with_ledger_lines"),
            ("surveys", "0016_response_updated_index"))

    assert PeriodicTask.objects.filter(name="Stale import sweeper").count() == 1


def test_upgrade_across_accounting_0008_with_a_duplicate_daily_crontab():
    # Before the reason requests: an admin scheduled something of their own at 09:00 (UTC) twice.
    migrate(("surveys", "0004_detractor_alert_sweeper_schedule"), ("accounting", "0007_revenue_quarter_rollup"))
    twice(CrontabSchedule, minute="0", hour="9", day_of_week="*", day_of_month="*", month_of_year="*",
          timezone="UTC")

    migrate(*latest())

    assert PeriodicTask.objects.filter(name="Reason requests to new customers").count() == 1


def test_a_multi_line_sender_name_from_before_0009_does_not_fail_every_send_after_the_upgrade():
    apps = migrate(("surveys", "0008_records_keep_their_user"))
    apps.get_model("surveys", "Survey").objects.create(
        name="Orders", kind="transactional", sender_name="Acme\r\nCustomer care"
    )
    migrate(*latest())

    survey = Survey.objects.get(name="Orders")
    invitation = InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    sending.send_batch()

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT, invitation.last_error


def test_an_interrupted_invitation_left_without_expiry_expires_after_the_upgrade(client, settings):
    settings.SURVEY_PUBLIC_RATE = "1000/m"
    claimed = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
    row = InvitationFactory(
        survey=SurveyFactory(expiry_days=10), state=InvitationState.FAILED, last_error=sending.INTERRUPTED,
        claimed_at=claimed, sent_at=None, expires_at=None,
    )
    migrate(("surveys", "0017_sender_name_one_line_rows"))

    migrate(*latest())

    row.refresh_from_db()
    assert row.expires_at == claimed + dt.timedelta(days=10)
    assert client.post(f"/s/{row.token}/", {"score": 3}).status_code == 410
    assert not Response.objects.filter(invitation=row).exists()
