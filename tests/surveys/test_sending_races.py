"""A customer or survey changed while a sending batch runs (surveys/sending.py).

send_batch reads its whole batch (up to SURVEY_SEND_BATCH_SIZE=200 rows, paced at 20/s: ten
seconds) at once, so each row's claim checks the customer and the survey as they are then: an
opt-out, a cleared or suppressed address, or a closed survey committed meanwhile must be seen.
The same for the reminders' claim. The race tests commit the change from a second connection.
"""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from accounting.models import Customer
from surveys import sending
from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, SuppressedAddress, Survey
from tests.concurrency import while_first_is_held
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

needs_two_connections = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections")


@pytest.fixture(autouse=True)
def rows_stay_queued(monkeypatch, settings):
    monkeypatch.setattr("surveys.launch._enqueue_sending", lambda countdown=0, tell=None: None)
    settings.SURVEY_SEND_RATE_PER_SECOND = 0


def in_another_connection(work):
    def run():
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)


def while_the_first_email_goes_out(monkeypatch, change):
    """Run `change` (committed, in another connection) during the batch's first send."""
    original, calls = sending._send_one, []

    def send_one(smtp, invitation, **kwargs):
        if not calls:
            in_another_connection(change)
        calls.append(invitation.pk)
        return original(smtp, invitation, **kwargs)

    monkeypatch.setattr(sending, "_send_one", send_one)


def suppress_address(customer):
    return lambda: SuppressedAddress.objects.create(email=customer.email, kind="complained")


CUSTOMER_CHANGES = {
    "opted-out": (lambda customer: lambda: Customer.objects.filter(pk=customer.pk).update(survey_opt_out=True)),
    "email-cleared": (lambda customer: lambda: Customer.objects.filter(pk=customer.pk).update(email="")),
    "address-suppressed": suppress_address,
}
REASONS = {"opted-out": "opted_out", "email-cleared": "no_email", "address-suppressed": "bounced_before"}


@pytest.mark.parametrize("change", list(CUSTOMER_CHANGES))
@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_customer_changed_while_the_batch_runs_is_not_emailed(monkeypatch, change):
    first, second = CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")
    survey = SurveyFactory(throttle_days=0)
    survey_launch(survey=Survey.objects.get(pk=survey.pk))
    while_the_first_email_goes_out(monkeypatch, CUSTOMER_CHANGES[change](second))

    result = sending.send_batch()

    assert [m.to for m in mail.outbox] == [[first.email]], [m.to for m in mail.outbox]
    assert (result.sent, result.skipped) == (1, 1)
    row = Invitation.objects.get(customer=second)
    assert (row.state, row.suppression_reason, row.expires_at) == ("suppressed", REASONS[change], None)
    assert Invitation.objects.get(customer=first).state == InvitationState.SENT


@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_new_address_given_while_the_batch_runs_is_the_one_emailed(monkeypatch):
    first, second = CustomerFactory(external_id="C-1"), CustomerFactory(external_id="C-2")
    survey = SurveyFactory(throttle_days=0)
    survey_launch(survey=Survey.objects.get(pk=survey.pk))
    moved = lambda: Customer.objects.filter(pk=second.pk).update(email="new@example.com")  # noqa: E731
    while_the_first_email_goes_out(monkeypatch, moved)

    sending.send_batch()

    assert [m.to for m in mail.outbox] == [[first.email], ["new@example.com"]]
    assert Invitation.objects.get(customer=second).email == "new@example.com"


@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_survey_closed_while_the_batch_runs_emails_nobody_more(monkeypatch):
    """README: "A closed survey emails nobody ... its queued invitations wait"."""
    CustomerFactory.create_batch(3)
    survey = SurveyFactory(throttle_days=0)
    survey_launch(survey=Survey.objects.get(pk=survey.pk))
    closed = lambda: Survey.objects.filter(pk=survey.pk).update(status="closed")  # noqa: E731
    while_the_first_email_goes_out(monkeypatch, closed)

    result = sending.send_batch()

    assert len(mail.outbox) == 1, [m.to for m in mail.outbox]
    assert (result.sent, result.skipped) == (1, 2)
    assert Invitation.objects.filter(survey=survey, state=InvitationState.QUEUED).count() == 2
    assert Invitation.objects.filter(survey=survey, state=InvitationState.SENT).count() == 1
    assert not sending.more_due()


# --- Reminders ---------------------------------------------------------------------------------------


def reminder_rows(survey):
    earlier = timezone.now() - dt.timedelta(days=2)
    return [InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory()) for _ in range(2)]


@pytest.mark.parametrize("change", list(CUSTOMER_CHANGES))
@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_customer_changed_while_the_reminders_go_out_gets_none(monkeypatch, change):
    first, second = reminder_rows(SurveyFactory(reminder_days=1))
    while_the_first_email_goes_out(monkeypatch, CUSTOMER_CHANGES[change](second.customer))

    result = sending.send_reminders()

    assert [m.to for m in mail.outbox] == [[first.customer.email]]
    assert (result.sent, result.skipped) == (1, 1)
    second.refresh_from_db()
    assert second.reminder_claimed_at is None and second.reminder_sent_at is None


@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_reminder_goes_to_the_address_given_while_the_reminders_go_out(monkeypatch):
    first, second = reminder_rows(SurveyFactory(reminder_days=1))
    moved = lambda: Customer.objects.filter(pk=second.customer_id).update(email="new@example.com")  # noqa: E731
    while_the_first_email_goes_out(monkeypatch, moved)

    sending.send_reminders()  # the claim fails on the old address: the row is still due, at the new one
    sending.send_reminders()

    assert [m.to for m in mail.outbox] == [[first.customer.email], ["new@example.com"]]


@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_survey_closed_while_the_reminders_go_out_reminds_nobody_more(monkeypatch):
    survey = SurveyFactory(reminder_days=1)
    reminder_rows(survey)
    closed = lambda: Survey.objects.filter(pk=survey.pk).update(status="closed")  # noqa: E731
    while_the_first_email_goes_out(monkeypatch, closed)

    result = sending.send_reminders()

    assert len(mail.outbox) == 1 and (result.sent, result.skipped) == (1, 1)
    assert not sending.reminders_due().exists()


# --- The claim itself, on either database ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("change", list(CUSTOMER_CHANGES))
def test_the_claim_suppresses_a_row_whose_customer_changed_after_the_batch_was_read(change):
    row = InvitationFactory(state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    read = Invitation.objects.select_related("survey", "customer").get(pk=row.pk)
    CUSTOMER_CHANGES[change](row.customer)()

    assert sending._claim(read) is False

    row.refresh_from_db()
    assert (row.state, row.suppression_reason, row.expires_at) == ("suppressed", REASONS[change], None)


@pytest.mark.django_db
def test_the_claim_leaves_a_closed_surveys_row_queued_and_still_marks_the_last_one_sent():
    sent, following = (
        InvitationFactory(state=state, sent_at=None, expires_at=None)
        for state in (InvitationState.SENDING, InvitationState.QUEUED)
    )
    read = Invitation.objects.select_related("survey", "customer").get(pk=following.pk)
    Survey.objects.filter(pk=following.survey_id).update(status="closed")

    assert sending._sent_and_claimed(sent, "<a@x>", read) is False

    states = dict(Invitation.objects.values_list("pk", "state"))
    assert states == {sent.pk: "sent", following.pk: "queued"}


@pytest.mark.django_db
def test_the_claim_stores_the_customers_address_as_it_is_then():
    row = InvitationFactory(state=InvitationState.QUEUED, sent_at=None, expires_at=None, email="old@x.org")
    read = Invitation.objects.select_related("survey", "customer").get(pk=row.pk)
    Customer.objects.filter(pk=row.customer_id).update(email="New@X.org")

    assert sending._claim(read) is True

    row.refresh_from_db()
    assert (row.state, row.email, read.email) == ("sending", "New@X.org", "New@X.org")
    assert row.expires_at is not None and row.suppression_reason == ""


# --- Two reminder runs at once -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@needs_two_connections
def test_a_reminder_claim_that_waited_for_another_runs_claim_finds_it_claimed():
    """Two overlapping reminder runs read the same row as due; the second's claim waits for the
    first's row lock. It must then see the row claimed: a claim whose UPDATE joined the customer
    was written as `WHERE id IN (SELECT ...)`, re-checked on the id only, and both runs claimed it."""
    invitation = InvitationFactory(survey=SurveyFactory(reminder_days=3), sent_at=timezone.now() - dt.timedelta(days=4))

    def claim():
        return sending._claim_reminder(Invitation.objects.select_related("survey", "customer").get(pk=invitation.pk))

    first_claimed = []
    second = while_first_is_held(lambda: first_claimed.append(claim()), claim)

    assert first_claimed == [True]
    assert second.error is None, second.error
    assert second.result is False, "both runs claimed the one reminder: it would be emailed twice"

