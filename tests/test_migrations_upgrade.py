"""Upgrading an installation: the data migrations over data an earlier release could hold.

- django-celery-beat's interval and crontab schedules are not unique (its admin saves duplicates):
  the schedule migrations took them by get_or_create, and one duplicate stopped `migrate` (and
  `run.py serve`) with MultipleObjectsReturned.
- surveys 0009 only added the one-line validator of sender names: a name with a line break saved
  before failed every email of its survey on the From header, until surveys 0017.
- An invitation failed as interrupted while sending (maybe delivered) got no expiry before its
  claim set one: its link never expired, until surveys 0018.
- accounting 0019 and surveys 0023 add check constraints: the rows an earlier admin took (a
  self-referral, a negative acquisition cost) or other writers left (SQL, bulk loads) are
  repaired first, or the upgrade would stop on them.
- Invitations had no `updated_at` before surveys 0024: each takes the latest of its own moments.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounting.models import CostEntry, Customer, ReasonCategory
from surveys import sending
from surveys.models import Invitation, InvitationState, Response, SuppressedAddress, Survey
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


BEFORE_CHECKS = (("surveys", "0022_touchpoint_segment_nfc_one_line"), ("accounting", "0018_customer_export_permission"))


def test_accounting_rows_the_new_checks_refuse_are_repaired_by_the_upgrade():
    apps = migrate(*BEFORE_CHECKS)
    categories, customers = apps.get_model("accounting", "ReasonCategory"), apps.get_model("accounting", "Customer")
    categories.objects.create(slug="typo", label="Typo", kind="Earned")  # a DBA's typo
    categories.objects.create(slug="fair", label="Fair", kind="earned")
    categories.objects.update_or_create(slug="other", defaults={"label": "Other", "kind": "bought"})  # may be flushed
    blank = customers.objects.create(external_id="")
    customers.objects.create(external_id=f"#blank{blank.pk}")
    itself = customers.objects.create(external_id="SELF", acquisition_cost=Decimal("-12.50"))  # as the admin took
    customers.objects.filter(pk=itself.pk).update(referred_by=F("pk"))
    apps.get_model("accounting", "CostEntry").objects.create(
        customer_id=itself.pk, date=dt.date(2025, 1, 1), amount=Decimal(5), external_ref="c1", kind="Serve"
    )

    migrate(*latest())

    kinds = dict(ReasonCategory.objects.values_list("slug", "kind"))
    assert (kinds["typo"], kinds["other"], kinds["fair"]) == ("unknown", "unknown", "earned")
    assert Customer.objects.get(pk=blank.pk).external_id == f"#blank{blank.pk}-"
    assert Customer.objects.filter(pk=itself.pk).values_list("referred_by", "acquisition_cost").get() == (None, None)
    assert CostEntry.objects.get().kind == "serve"


def test_survey_rows_the_new_checks_refuse_are_repaired_by_the_upgrade():
    apps = migrate(*BEFORE_CHECKS)
    surveys = apps.get_model("surveys", "Survey")
    due = dt.datetime(2025, 1, 1, 6, tzinfo=dt.UTC)
    launched = surveys.objects.create(name="Pulse", status="Active", audience="sample", sample_percent=Decimal(150),
                                      reminder_days=0, expiry_days=30, throttle_days=1000)
    apps.get_model("surveys", "Launch").objects.create(survey=launched, audience="sample")
    other = surveys.objects.create(name="Orders", status="open", audience="everyone", expiry_days=0, repeat_days=0,
                                   next_launch_at=due)
    customer = apps.get_model("accounting", "Customer").objects.create(external_id="C-1")
    invitations = apps.get_model("surveys", "Invitation")
    sent_at = dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)

    def invite(token_hash, **fields):
        return invitations.objects.create(survey=launched, customer=customer, token_hash=token_hash, **fields).pk

    sending, unsent = invite("h1", state="sending"), invite("h2", state="sent")
    unexpiring, tokenless = invite("h3", state="sent", sent_at=sent_at), invite("", state="expired")
    addresses = apps.get_model("surveys", "SuppressedAddress")
    addresses.objects.create(email="jo@example.com", kind="bounced")
    addresses.objects.create(email="Jo@Example.com", kind="complained")
    addresses.objects.create(email="Al@Example.com", kind="complained")

    migrate(*latest())

    settings = ["status", "audience", "sample_percent", "reminder_days", "expiry_days", "throttle_days", "repeat_days",
                "next_launch_at"]
    assert Survey.objects.filter(pk=launched.pk).values_list(*settings).get() == (
        "active", "sample", Decimal(100), 1, 30, 365, None, None)
    assert Survey.objects.filter(pk=other.pk).values_list(*settings).get() == (
        "draft", "all", None, None, 1, 90, None, None)
    rows = Invitation.objects.in_bulk()
    assert rows[sending].claimed_at == rows[sending].created_at
    assert rows[unsent].sent_at == rows[unsent].created_at and rows[unsent].expires_at is not None
    assert rows[unexpiring].expires_at == sent_at + dt.timedelta(days=30)
    assert len(rows[tokenless].token_hash) == 64 and rows[tokenless].token  # a link that opens again
    assert sorted(SuppressedAddress.objects.values_list("email", "kind")) == [
        ("al@example.com", "complained"), ("jo@example.com", "bounced")]


def test_suppressed_addresses_in_capitals_from_before_0015_are_upgraded_once_in_every_form():
    apps = migrate(("surveys", "0014_sample_percent_decimal_bounds"))
    addresses = apps.get_model("surveys", "SuppressedAddress")
    for email, kind in [("ann@example.com", "bounced"), ("Ann@Example.com", "complained"),
                        ("Al@XN--Bcher-kva.de", "complained")]:  # loaded before lower-casing
        addresses.objects.create(email=email, kind=kind)

    migrate(*latest())

    assert sorted(SuppressedAddress.objects.values_list("email", "kind")) == [
        ("al@bücher.de", "complained"), ("al@xn--bcher-kva.de", "complained"), ("ann@example.com", "bounced")]


def test_invitations_from_before_0024_take_their_latest_own_moment_as_updated_at():
    """surveys 0024 adds `updated_at`; an anonymous survey's rows leave out the moments that would
    tell who answered (answered, reminded, expired): the API does not show them either."""
    day = lambda n, hour=0: dt.datetime(2025, 1, n, hour, tzinfo=dt.UTC)  # noqa: E731
    rows = {}
    for anonymous in (False, True):
        survey = SurveyFactory(anonymous=anonymous)
        sent = {"created_at": day(1), "claimed_at": day(2), "sent_at": day(2, 1)}
        rows[anonymous] = {
            "answered": InvitationFactory(survey=survey, **sent, state=InvitationState.RESPONDED,
                                          reminder_sent_at=day(5), responded_at=day(6)),
            "expired": InvitationFactory(survey=survey, **sent, state=InvitationState.EXPIRED, expires_at=day(12)),
            "bounced": InvitationFactory(survey=survey, **sent, state=InvitationState.BOUNCED, bounced_at=day(3)),
            "queued": InvitationFactory(survey=survey, created_at=day(1), state=InvitationState.QUEUED,
                                        sent_at=None, expires_at=None),
        }
    migrate(("surveys", "0023_integrity_checks_and_records_kept"))

    migrate(*latest())

    def updated(anonymous):
        return {name: Invitation.objects.get(pk=row.pk).updated_at for name, row in rows[anonymous].items()}

    assert updated(False) == {"answered": day(6), "expired": day(12), "bounced": day(3), "queued": day(1)}
    assert updated(True) == {"answered": day(2, 1), "expired": day(2, 1), "bounced": day(3), "queued": day(1)}
