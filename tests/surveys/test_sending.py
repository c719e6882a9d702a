"""Claim-and-send: batches, retries, the sweeper, reminders and expiry (locmem email backend)."""

import datetime as dt
import re
import smtplib

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from surveys import sending, tasks
from surveys.models import Invitation, InvitationState, Response
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

FAILURES: list = []  # exceptions the next sends raise, in order
OPENED: list = []


class ScriptedBackend(EmailBackend):
    """locmem, but raising the exceptions queued in FAILURES first, and counting connections."""

    def open(self):
        if not getattr(self, "_open", False):
            self._open = True
            OPENED.append(self)
            return True
        return False

    def send_messages(self, messages):
        if FAILURES:
            raise FAILURES.pop(0)
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def scripted_backend(settings):
    settings.EMAIL_BACKEND = "tests.surveys.test_sending.ScriptedBackend"
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    FAILURES.clear()
    OPENED.clear()
    cache.clear()  # heartbeats and pending-retry marks
    yield
    FAILURES.clear()
    cache.clear()


def queued(n=1, **kwargs):
    survey = kwargs.pop("survey", None) or SurveyFactory(expiry_days=10)
    return [
        InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None, expires_at=None, **kwargs)
        for _ in range(n)
    ]


def test_a_batch_sends_each_due_invitation_once_over_one_connection():
    rows = queued(3)
    queued(1, send_after=timezone.now() + dt.timedelta(hours=1))  # not due yet

    result = sending.send_batch()

    assert result.sent == 3 and len(mail.outbox) == 3 and len(OPENED) == 1
    for row in rows:
        row.refresh_from_db()
        assert row.state == InvitationState.SENT and row.message_id.startswith("<")
        assert row.expires_at == row.sent_at + dt.timedelta(days=10)
        assert row.claimed_at is not None
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {r.message_id for r in rows}


def test_the_batch_size_caps_a_run_and_the_task_chains_the_rest(settings):
    settings.SURVEY_SEND_BATCH_SIZE = 2
    queued(5)
    assert sending.send_batch().sent == 2
    tasks.send_invitations()  # eager: re-enqueues itself while due rows remain
    assert len(mail.outbox) == 5 and not sending.more_due()


def test_running_the_task_twice_sends_no_duplicate():
    queued(3)
    tasks.send_invitations()
    tasks.send_invitations()
    assert len(mail.outbox) == 3


def test_a_row_claimed_by_another_process_is_skipped(monkeypatch):
    (row,) = queued(1)
    real_claim = sending._claim

    def claimed_elsewhere(invitation):
        Invitation.objects.filter(pk=invitation.pk).update(state=InvitationState.SENDING, claimed_at=timezone.now())
        return real_claim(invitation)

    monkeypatch.setattr(sending, "_claim", claimed_elsewhere)
    result = sending.send_batch()
    assert result.skipped == 1 and mail.outbox == []


def test_a_transient_error_puts_the_row_back_and_the_batch_is_retried():
    rows = queued(2)
    FAILURES.append(smtplib.SMTPServerDisconnected("gone"))

    result = sending.send_batch()

    assert result.retry_in == sending.RETRY_BASE_SECONDS and result.sent == 0
    rows[0].refresh_from_db()
    assert rows[0].state == InvitationState.QUEUED and rows[0].attempts == 1 and "gone" in rows[0].last_error
    # The claim's expiry is kept: a retried interrupted row's first email may have carried this link.
    assert rows[0].expires_at is not None
    assert sending.send_batch().sent == 2  # the retry sends both


def test_transient_errors_stop_after_the_attempt_cap():
    (row,) = queued(1)
    for _ in range(sending.MAX_ATTEMPTS):
        FAILURES.append(smtplib.SMTPResponseException(451, b"try later"))
        sending.send_batch()
    row.refresh_from_db()
    assert row.state == InvitationState.FAILED and row.attempts == sending.MAX_ATTEMPTS
    assert "try later" in row.last_error


def test_a_permanent_error_fails_the_row_and_the_batch_goes_on():
    rows = queued(2)
    FAILURES.append(smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")}))

    result = sending.send_batch()

    assert (result.sent, result.failed, result.retry_in) == (1, 1, None)
    rows[0].refresh_from_db()
    assert rows[0].state == InvitationState.FAILED and "no such user" in rows[0].last_error


def test_a_customer_who_opted_out_after_the_launch_is_not_emailed():
    customer = CustomerFactory()
    (row,) = queued(1, customer=customer)
    customer.survey_opt_out = True
    customer.save()
    sending.send_batch()
    row.refresh_from_db()
    assert (row.state, row.suppression_reason) == ("suppressed", "opted_out") and mail.outbox == []


@pytest.mark.parametrize("new_email", ["", "New@Example.com"])
def test_a_delayed_invitation_goes_to_the_customers_address_at_the_time_of_sending(new_email):
    """The row's address is a copy made at the launch or the trigger, maybe days ago: the claim
    (the first row's, and the next rows' folded into the previous one's UPDATE to sent) takes the
    customer's current one, and a customer left without one is suppressed "no email"."""
    customers = [CustomerFactory(email=f"old{n}@example.com") for n in range(2)]
    rows = [queued(1, customer=customer)[0] for customer in customers]
    for customer in customers:
        customer.email = new_email
        customer.save()

    sending.send_batch()

    assert [m.to for m in mail.outbox] == ([[new_email]] * 2 if new_email else [])
    for row in rows:
        row.refresh_from_db()
        assert row.email == new_email
        if not new_email:
            assert (row.state, row.suppression_reason, row.expires_at) == ("suppressed", "no_email", None)


def test_pacing_spaces_the_sends(settings, monkeypatch):
    settings.SURVEY_SEND_RATE_PER_SECOND = 50
    queued(4)
    started = timezone.now()
    sending.send_batch()
    assert timezone.now() - started >= dt.timedelta(seconds=3 / 50)


# --- Sweeper ----------------------------------------------------------------------------------------


def test_the_sweeper_fails_a_stale_sending_row_without_resending_it(settings):
    settings.SURVEY_SENDING_STALE_MINUTES = 15
    (stale,) = queued(1)
    (fresh,) = queued(1)
    Invitation.objects.filter(pk=stale.pk).update(state="sending", claimed_at=timezone.now() - dt.timedelta(hours=1))
    Invitation.objects.filter(pk=fresh.pk).update(state="sending", claimed_at=timezone.now())

    tasks.sweep_invitations()

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.state == InvitationState.FAILED and stale.last_error == sending.INTERRUPTED
    assert fresh.state == InvitationState.SENDING and mail.outbox == []


@pytest.mark.parametrize("killed_at", [1, 2], ids=["first-claim", "claim-with-previous-sent"])
def test_the_link_of_an_interrupted_invitation_expires_like_any_other(client, monkeypatch, killed_at):
    """A worker killed mid-send: the email may have arrived, so its link must expire as a sent one's
    does (it had no expiry before, and an answer 200 days later was taken)."""
    queued(2)  # survey expiry: 10 days
    real_send_one, sends = sending._send_one, []

    def send_one(connection, invitation, **kwargs):
        sends.append(invitation)
        if len(sends) == killed_at:
            raise SystemExit  # the worker is killed in the SMTP conversation
        return real_send_one(connection, invitation, **kwargs)

    monkeypatch.setattr(sending, "_send_one", send_one)
    with pytest.raises(SystemExit):
        sending.send_batch()
    row = Invitation.objects.get(pk=sends[-1].pk)
    assert row.state == InvitationState.SENDING
    assert row.expires_at == sending.days_later(row.claimed_at, 10)

    with time_machine.travel(timezone.now() + dt.timedelta(days=200)):
        tasks.sweep_invitations()
        row.refresh_from_db()
        assert (row.state, row.last_error) == (InvitationState.FAILED, sending.INTERRUPTED)
        posted = client.post(f"/s/{row.token}/", {"score": 3})

    assert posted.status_code == 410
    assert not Response.objects.filter(invitation=row).exists()


def test_the_sweeper_restarts_sending_when_no_sender_is_alive(monkeypatch):
    from django.core.cache import cache

    cache.delete(sending.HEARTBEAT_KEY)
    queued(2)
    assert tasks.sweep_invitations()["restarted"] is True
    assert len(mail.outbox) == 2
    assert tasks.sweep_invitations()["restarted"] is False  # nothing due any more


def test_the_sweeper_leaves_a_live_sender_alone():
    from django.core.cache import cache

    cache.set(sending.HEARTBEAT_KEY, __import__("time").time())
    queued(1)
    assert sending.needs_sender() is False
    cache.delete(sending.HEARTBEAT_KEY)


def test_the_sweeper_leaves_a_chain_waiting_out_its_backoff_alone_and_restarts_it_if_it_dies(monkeypatch, settings):
    """The chain runs no batch (so beats no heartbeat) while its retry waits: the sweeper must not
    take it for dead and start a second chain, which would burn the rows' attempts twice as fast."""
    settings.SURVEY_SEND_PARALLEL = 2
    retries = []
    monkeypatch.setattr(tasks.send_invitations, "apply_async", lambda args, countdown: retries.append(countdown))
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        queued(1, attempts=3)
        FAILURES.append(smtplib.SMTPServerDisconnected("gone"))
        tasks.send_invitations()
        assert retries == [8 * 60]  # the 4th attempt failed: 8 minutes

        traveller.shift(dt.timedelta(minutes=5))  # the heartbeat is long stale
        assert tasks.sweep_invitations()["restarted"] is False and retries == [8 * 60]

        traveller.shift(dt.timedelta(minutes=6))  # the retry is due and has not run: lost
        assert tasks.sweep_invitations()["restarted"] is True and retries[1:] == [None, None]  # both shards


def test_the_sweeper_restarts_the_senders_when_the_cache_is_down(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    queued(1)
    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "get_many", down)
    assert sending.needs_sender() is True
    monkeypatch.setattr(cache, "set", down)
    sending.mark_retry(sending.RETRY_KEY.format(0), 60)  # logged, not raised


# --- Reminders and expiry ----------------------------------------------------------------------------


def test_a_reminder_goes_once_to_non_responders_only():
    survey = SurveyFactory(reminder_days=3)
    long_ago = timezone.now() - dt.timedelta(days=4)
    waiting = InvitationFactory(survey=survey, sent_at=long_ago)
    InvitationFactory(survey=survey, sent_at=long_ago, state=InvitationState.RESPONDED)
    InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=1))  # too recent
    InvitationFactory(survey=survey, sent_at=long_ago, expires_at=timezone.now() - dt.timedelta(minutes=1))
    InvitationFactory(survey=SurveyFactory(), sent_at=long_ago)  # survey without reminder

    tasks.send_reminders()
    tasks.send_reminders()

    assert [m.to for m in mail.outbox] == [[waiting.email]]
    assert mail.outbox[0].subject.startswith("Reminder")
    assert f"/s/{waiting.token}/?score=10" in mail.outbox[0].body  # the same link
    waiting.refresh_from_db()
    assert waiting.reminder_sent_at is not None and waiting.reminder_claimed_at is not None


def test_a_transient_reminder_failure_gives_the_claim_back():
    survey = SurveyFactory(reminder_days=1)
    row = InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=2))
    FAILURES.append(smtplib.SMTPServerDisconnected("gone"))
    assert sending.send_reminders().retry_in is not None
    row.refresh_from_db()
    assert row.reminder_claimed_at is None
    assert sending.send_reminders().sent == 1


def test_a_failing_reminder_chain_backs_off_then_stops_and_the_hourly_run_starts_no_second_one(monkeypatch):
    survey = SurveyFactory(reminder_days=1)
    InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=2))
    FAILURES.extend(smtplib.SMTPServerDisconnected("down") for _ in range(20))  # an SMTP outage
    enqueued = []
    monkeypatch.setattr(
        tasks.send_reminders, "apply_async",
        lambda args=(), kwargs=None, countdown=None, **options: enqueued.append((args, countdown)),
    )
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        tasks.send_reminders()  # the hourly run
        tasks.send_reminders()  # another scheduled run while the retry waits: leaves it to the chain
        assert len(FAILURES) == 19 and len(enqueued) == 1
        for _ in range(sending.MAX_ATTEMPTS - 1):  # the retries; the last one enqueues none
            args, countdown = enqueued[-1]
            traveller.shift(dt.timedelta(seconds=countdown))
            tasks.send_reminders(*args)

        assert [countdown for _, countdown in enqueued] == [60, 120, 240, 480]
        assert len(FAILURES) == 20 - sending.MAX_ATTEMPTS
        traveller.shift(dt.timedelta(hours=1))
        tasks.send_reminders()  # the next hourly run tries again
        assert len(FAILURES) == 20 - sending.MAX_ATTEMPTS - 1


def test_reminders_pass_over_opted_out_customers_and_the_task_stops_when_nothing_sendable_is_left(
    settings, monkeypatch
):
    settings.SURVEY_SEND_BATCH_SIZE = 3
    survey = SurveyFactory(reminder_days=3)
    earlier = timezone.now() - dt.timedelta(days=6)
    for _ in range(3):  # first in the reminder order, a whole batch of them
        InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory(survey_opt_out=True))
    waiting = [InvitationFactory(survey=survey, sent_at=earlier + dt.timedelta(days=1)) for _ in range(2)]
    requeued = []
    monkeypatch.setattr(tasks.send_reminders, "delay", lambda *args, **kwargs: requeued.append(args))

    assert tasks.send_reminders() == 2

    assert sorted(m.to for m in mail.outbox) == sorted([row.email] for row in waiting)
    assert requeued == []  # nothing sendable left: no task chained for the opted-out rows
    assert not sending.reminders_due().exists()


def test_no_reminder_goes_to_an_address_suppressed_since_the_invitation():
    from surveys.models import SuppressedAddress

    survey = SurveyFactory(reminder_days=1)
    earlier = timezone.now() - dt.timedelta(days=2)

    def invited(address, **kwargs):
        return InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory(email=address), **kwargs)

    complained = invited("Spam.Button@Example.com")
    no_copy = invited("gone@x.org", email="")
    moved = invited("b@x.org", email="fine@x.org")  # changed since, to a suppressed one: the current one counts
    for address in ("spam.button@example.com", "gone@x.org", "b@x.org"):
        SuppressedAddress.objects.create(email=address, kind="complained")
    waiting = InvitationFactory(survey=survey, sent_at=earlier)

    assert list(sending.reminders_due()) == [waiting]
    tasks.send_reminders()

    assert [m.to for m in mail.outbox] == [[waiting.email]]
    for row in (complained, no_copy, moved):
        row.refresh_from_db()
        assert row.reminder_sent_at is None


def test_a_reminder_goes_to_the_customers_current_address_and_none_when_it_was_removed():
    survey = SurveyFactory(reminder_days=1)
    earlier = timezone.now() - dt.timedelta(days=2)
    moved, removed = (InvitationFactory(survey=survey, sent_at=earlier, email=f"old{n}@x.org") for n in range(2))
    moved.customer.__class__.objects.filter(pk=moved.customer_id).update(email="new@x.org")
    removed.customer.__class__.objects.filter(pk=removed.customer_id).update(email="")

    assert list(sending.reminders_due()) == [moved]
    tasks.send_reminders()

    assert [m.to for m in mail.outbox] == [["new@x.org"]]
    moved.refresh_from_db()
    # Not stored: only non-responders are reminded, and an anonymous survey's answered and
    # unanswered rows must not differ by it.
    assert moved.email == "old0@x.org"


def test_a_customer_who_opts_out_while_the_reminder_batch_runs_gets_no_reminder(monkeypatch):
    survey = SurveyFactory(reminder_days=1)
    row = InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=2))
    read = sending.reminders_due

    def read_then_opt_out(*args, **kwargs):
        rows = list(read(*args, **kwargs))
        row.customer.__class__.objects.filter(pk=row.customer_id).update(survey_opt_out=True)
        return Invitation.objects.filter(pk__in=[r.pk for r in rows])

    monkeypatch.setattr(sending, "reminders_due", read_then_opt_out)
    result = sending.send_reminders()

    assert (result.sent, result.skipped) == (0, 1) and mail.outbox == []


def test_expiry_moves_only_sent_invitations_past_their_date():
    past = timezone.now() - dt.timedelta(minutes=1)
    old = InvitationFactory(expires_at=past)
    answered = InvitationFactory(expires_at=past, state=InvitationState.RESPONDED)
    current = InvitationFactory()
    assert tasks.expire_invitations() == 1
    for row, state in [(old, "expired"), (answered, "responded"), (current, "sent")]:
        row.refresh_from_db()
        assert row.state == state


def test_marking_sent_and_claiming_the_next_row_keep_their_own_conditions():
    sent, bounced_meanwhile, following, taken = queued(4)
    claimed = {"state": "sending", "claimed_at": timezone.now()}
    Invitation.objects.filter(pk__in=[sent.pk, bounced_meanwhile.pk]).update(**claimed)
    Invitation.objects.filter(pk=bounced_meanwhile.pk).update(state="bounced")
    Invitation.objects.filter(pk=taken.pk).update(**claimed)

    assert sending._sent_and_claimed(sent, "<a@x>", following) is True
    assert sending._sent_and_claimed(bounced_meanwhile, "<b@x>", taken) is False

    states = dict(Invitation.objects.values_list("pk", "state"))
    assert states == {sent.pk: "sent", bounced_meanwhile.pk: "bounced", following.pk: "sending", taken.pk: "sending"}
    sent.refresh_from_db()
    assert sent.message_id == "<a@x>" and sent.expires_at is not None


def test_shards_split_the_rows_and_together_send_each_once(mailoutbox):
    from surveys import sending
    from surveys.models import Invitation, InvitationState
    from tests.factories import InvitationFactory

    rows = [InvitationFactory(state=InvitationState.QUEUED, sent_at=None) for _ in range(6)]
    first = set(sending.due_invitations(shard=0, shards=2).values_list("pk", flat=True))
    second = set(sending.due_invitations(shard=1, shards=2).values_list("pk", flat=True))
    assert first | second == {row.pk for row in rows} and not first & second
    sending.send_batch(shard=0, shards=2)
    sending.send_batch(shard=1, shards=2)
    sending.send_batch(shard=1, shards=2)  # nothing left: sends nothing twice
    assert len(mailoutbox) == 6
    assert set(Invitation.objects.values_list("state", flat=True)) == {InvitationState.SENT}


def test_the_written_out_sent_statement_sets_every_field_the_orm_path_sets():
    """CLAIM_SQL repeats _sent_fields by hand (the ORM built it too slowly): a field added to one
    must reach the other, or a batch's messages would be marked sent without it. The address and
    the suppression reason it reads from the customer itself."""
    from accounting.models import Customer
    from surveys.models import SuppressedAddress, Survey

    invitation = InvitationFactory()
    assigned = set(re.search(r"SET\s+\(([^)]*)\) =", sending.CLAIM_SQL)[1].replace(",", " ").split())
    written = {
        *sending._sent_fields(invitation, "id"), *sending._claim_fields(invitation, timezone.now()),
        "email", "suppression_reason",
    }
    assert {Invitation._meta.get_field(name).column for name in written} == assigned
    assert f"UPDATE {Invitation._meta.db_table} SET" in sending.CLAIM_SQL
    for model in (Customer, SuppressedAddress, Survey):
        assert re.search(rf'FROM "?{model._meta.db_table}"? ', sending.CLAIM_SQL), model


# --- Delayed triggers ----------------------------------------------------------------------------------


def test_a_trigger_delayed_for_days_enqueues_no_long_countdown_and_the_sweeper_sends_it_once_due(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    """Redis redelivers an ETA message every visibility_timeout (2 h) until it is due: a delay of days
    must not be handed to the broker. The sweeper starts the senders once the row is due."""
    from surveys.launch import invitation_get_or_create_transactional

    settings.SURVEY_SEND_PARALLEL = 2
    survey = SurveyFactory(kind="transactional")
    countdowns = []
    monkeypatch.setattr(tasks.send_invitations, "apply_async", lambda args, countdown: countdowns.append(countdown))
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for delay in (dt.timedelta(days=3), dt.timedelta(minutes=10)):
            with django_capture_on_commit_callbacks(execute=True):
                invitation_get_or_create_transactional(
                    survey=survey, customer=CustomerFactory(), touchpoint="delivery", delay=delay
                )
        assert countdowns == [600.0, 600.0]  # the 10-minute one only, one task per shard
        tasks.enqueue_senders(countdown=tasks.LONGEST_COUNTDOWN + 1)
        assert len(countdowns) == 2

        monkeypatch.undo()  # eager sending from here on
        traveller.shift(dt.timedelta(days=3))
        assert tasks.sweep_invitations()["restarted"] is True
    assert len(mail.outbox) == 2 and not Invitation.objects.filter(state=InvitationState.QUEUED).exists()
