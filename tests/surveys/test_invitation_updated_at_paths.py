"""Every write of a value /api/invitations/ shows moves the invitation's updated_at, so that a pull
by `changed_after` lists the row again (tests/api/test_customer_invitation_change_cursors.py).

The sender, the sweeper, reminders, expiry, bounces, answers, retries, launches, imports and
erasure write with QuerySet.update(), bulk_create() or SQL: each names the column itself, in the
UPDATE it already runs. An anonymous survey's answer, reminder and expiry change nothing its list
shows, and leave the column as it was: a new moment would set the answered rows apart.
"""

import datetime as dt
import smtplib
from io import StringIO

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from celery.exceptions import SoftTimeLimitExceeded
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounting.erasure import customer_erase
from surveys import sending
from surveys.launch import invitation_get_or_create_transactional, survey_launch, survey_retry_failed
from surveys.models import Invitation, InvitationState, SurveyKind, SurveyStatus
from surveys.responses import response_submit
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, queued_to
from tests.surveys.test_sending import FAILURES

pytestmark = pytest.mark.django_db

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SINCE_OLD = f"2020-01-01T00:00:00Z,{2**63 - 1}"  # every row changed after OLD


def age_everything():
    Invitation.objects.update(updated_at=OLD)


def pulled(api) -> set[int]:
    """The invitations a pull from before the write lists."""
    rows, cursor = [], SINCE_OLD
    while True:
        response = api.get(reverse("api-invitation-list"), {"changed_after": cursor})
        assert response.status_code == 200, response.content
        page = response.json()["results"]
        if not page:
            return {row["id"] for row in rows}
        rows += page
        cursor = f"{page[-1]['updated_at']},{page[-1]['id']}"


def ids(*invitations) -> set[int]:
    return {invitation.pk for invitation in invitations}


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


@pytest.fixture(autouse=True)
def scripted_backend(settings):
    """locmem, raising the exceptions queued in FAILURES first (tests/surveys/test_sending.py's)."""
    settings.EMAIL_BACKEND = "tests.surveys.test_sending.ScriptedBackend"
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    FAILURES.clear()
    yield
    FAILURES.clear()


# --- The sender ----------------------------------------------------------------------------------


@pytest.fixture
def read_while_sending(monkeypatch):
    """Each row is aged as its email goes out, as if a pull had read it then ("sending"): what the
    outcome writes after must list it again. `stop`: raise Celery's soft time limit there instead."""

    def install(where="_send_one", stop=False):
        owner = sending.Pacer if where == "wait" else sending
        original = getattr(owner, where)

        def aged_then_on(*args, **kwargs):
            Invitation.objects.filter(state=InvitationState.SENDING).update(updated_at=OLD)
            if stop:
                raise SoftTimeLimitExceeded()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, where, aged_then_on)

    return install


def test_a_batch_moves_each_row_it_suppresses_claims_or_marks_sent(api, read_while_sending):
    """A row's claim and the mark-sent of the one before are one written-out UPDATE (CLAIM_SQL); the
    batch's last row is marked sent alone (_mark_sent)."""
    (opted_out,) = queued_to(["c@x.test"])
    first, last = queued_to(["a@x.test", "b@x.test"])
    opted_out.customer.survey_opt_out = True
    opted_out.customer.save()
    InvitationFactory()
    age_everything()
    read_while_sending()

    assert sending.send_batch().sent == 2

    assert pulled(api) == ids(opted_out, first, last)
    assert {row.state for row in Invitation.objects.filter(pk__in=ids(first, last))} == {InvitationState.SENT}


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        (smtplib.SMTPServerDisconnected("gone"), InvitationState.QUEUED),  # queued again
        (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"no relay")}), InvitationState.FAILED),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"5.1.1 no such user")}), InvitationState.BOUNCED),
    ],
)
def test_a_send_that_fails_moves_the_row(api, read_while_sending, failure, state):
    (row,) = queued_to(["a@x.test"])
    age_everything()
    read_while_sending()
    FAILURES.append(failure)

    sending.send_batch()

    row.refresh_from_db()
    assert row.state == state and pulled(api) == ids(row)


@pytest.mark.parametrize(("where", "state", "last_error"), [
    ("_send_one", InvitationState.FAILED, sending.INTERRUPTED),  # in flight: maybe delivered
    ("wait", InvitationState.QUEUED, ""),  # claimed, not handed to the server: given back
])
def test_a_batch_stopped_at_the_soft_time_limit_moves_its_row(api, read_while_sending, where, state, last_error):
    (row,) = queued_to(["a@x.test"])
    age_everything()
    read_while_sending(where, stop=True)

    sending.send_batch()

    row.refresh_from_db()
    assert (row.state, row.last_error) == (state, last_error) and pulled(api) == ids(row)


def test_the_sweeper_moves_a_row_it_fails_as_interrupted(api, settings):
    stale = InvitationFactory(state=InvitationState.SENDING, claimed_at=timezone.now() - dt.timedelta(hours=2))
    InvitationFactory(state=InvitationState.SENDING, claimed_at=timezone.now())
    age_everything()

    assert sending.fail_interrupted() == 1

    assert pulled(api) == ids(stale)


def test_a_reminder_moves_a_named_surveys_row_only(api, mailoutbox):
    long_ago = timezone.now() - dt.timedelta(days=4)
    named = InvitationFactory(survey=SurveyFactory(reminder_days=3), sent_at=long_ago)
    anonymous = InvitationFactory(survey=SurveyFactory(reminder_days=3, anonymous=True), sent_at=long_ago)
    age_everything()

    assert sending.send_reminders().sent == 2

    assert pulled(api) == ids(named)
    anonymous.refresh_from_db()
    assert anonymous.reminder_sent_at is not None and anonymous.updated_at == OLD


def test_expiry_moves_a_named_surveys_row_only(api):
    past = timezone.now() - dt.timedelta(minutes=1)
    named = InvitationFactory(expires_at=past)
    anonymous = InvitationFactory(survey=SurveyFactory(anonymous=True), expires_at=past)
    age_everything()

    assert sending.expire_invitations() == 2

    assert pulled(api) == ids(named)
    anonymous.refresh_from_db()
    assert anonymous.state == InvitationState.EXPIRED and anonymous.updated_at == OLD


# --- Bounces, answers, unsubscribes ----------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["bounced", "complained"])
def test_a_bounce_or_a_complaint_moves_the_row_it_marks(api, event_type):
    marked = InvitationFactory(message_id="<m@example.com>")
    anonymous_complaint = InvitationFactory(survey=SurveyFactory(anonymous=True), message_id="<a@example.com>")
    age_everything()

    for invitation in (marked, anonymous_complaint):
        event = AnymailTrackingEvent(
            event_type=event_type, timestamp=timezone.now() - dt.timedelta(days=1), message_id=invitation.message_id,
            recipient=invitation.email, description="550 5.1.1 unknown",
        )
        tracking.send(sender=object, event=event, esp_name="TestESP")

    # An anonymous survey's complaint leaves its row as it is (surveys.webhooks): nothing moves.
    assert pulled(api) == (ids(marked, anonymous_complaint) if event_type == "bounced" else ids(marked))
    marked.refresh_from_db()
    assert marked.updated_at > marked.bounced_at  # the moment of the write, not the event's


def test_an_answer_moves_a_named_surveys_row_by_either_path(api, client, settings):
    """A first answer marks the row in its claim (one UPDATE); a row a writer answered without marking
    it (an import, the API) is marked on the locked path."""
    settings.SURVEY_PUBLIC_RATE = "1000/m"
    claimed = InvitationFactory()
    unmarked = ResponseFactory(invitation__state=InvitationState.SENT).invitation
    age_everything()

    assert client.post(f"/s/{claimed.token}/", {"score": 9}).status_code == 303
    response_submit(invitation=Invitation.objects.select_related("survey", "customer").get(pk=unmarked.pk), score=4)

    assert pulled(api) == ids(claimed, unmarked)
    unmarked.refresh_from_db()
    assert unmarked.state == InvitationState.RESPONDED


def test_an_answer_to_an_anonymous_survey_moves_only_a_row_not_read_delivered_yet(api, client, settings):
    """Sent, or interrupted while sending, the row reads "delivered" answered or not; still "sending"
    (answered before the sender marked it sent), its answer shows."""
    settings.SURVEY_PUBLIC_RATE = "1000/m"
    survey = SurveyFactory(anonymous=True)
    sent = InvitationFactory(survey=survey)
    interrupted = InvitationFactory(survey=survey, state=InvitationState.FAILED, last_error=sending.INTERRUPTED)
    sending_row = InvitationFactory(survey=survey, state=InvitationState.SENDING)
    unmarked = ResponseFactory(invitation__survey=survey, survey=survey, invitation__state=InvitationState.SENT)
    unmarked = unmarked.invitation
    age_everything()

    for row in (sent, interrupted, sending_row):
        assert client.post(f"/s/{row.token}/", {"score": 9}).status_code == 303
    response_submit(invitation=Invitation.objects.select_related("survey", "customer").get(pk=unmarked.pk), score=4)

    assert pulled(api) == ids(sending_row)
    assert set(Invitation.objects.filter(survey=survey).values_list("state", flat=True)) == {InvitationState.RESPONDED}


def test_an_unsubscribe_changes_no_invitation(api, client, fresh_rate_limits):
    invitation = InvitationFactory()
    age_everything()

    assert client.post(reverse("survey-unsubscribe", args=[invitation.token])).status_code == 200

    assert pulled(api) == set()


# --- Launches, triggers, retries, reopening, imports -------------------------------------------------


def test_a_launch_and_a_trigger_list_their_new_rows(api):
    survey = SurveyFactory(throttle_days=0)
    customer = CustomerFactory()
    InvitationFactory()
    age_everything()

    launch = survey_launch(survey=survey)
    trigger, _ = invitation_get_or_create_transactional(
        survey=SurveyFactory(kind=SurveyKind.TRANSACTIONAL), customer=customer, touchpoint="checkout", reference="O-1"
    )

    assert pulled(api) == {*launch.invitations.values_list("pk", flat=True), trigger.pk}


def test_a_retry_of_failed_rows_moves_each(api):
    survey = SurveyFactory(throttle_days=0)
    failed = InvitationFactory(survey=survey, state=InvitationState.FAILED, last_error="550 no relay")
    InvitationFactory(survey=survey)
    age_everything()

    assert survey_retry_failed(survey=survey).queued == 1

    assert pulled(api) == ids(failed)


def test_a_survey_opened_again_moves_its_waiting_rows(api):
    survey = SurveyFactory(status=SurveyStatus.CLOSED, throttle_days=30)
    throttled, waiting = queued_to(["t@x.test", "w@x.test"], survey=survey)
    Invitation.objects.filter(pk__in=ids(throttled, waiting)).update(send_after=timezone.now() - dt.timedelta(days=2))
    InvitationFactory(customer=throttled.customer)  # invited by another survey meanwhile
    age_everything()

    survey.status = SurveyStatus.ACTIVE
    survey.save()

    throttled.refresh_from_db()
    assert throttled.state == InvitationState.SUPPRESSED
    assert pulled(api) == ids(throttled, waiting)


def test_a_survey_made_anonymous_moves_every_row_of_it(api, client_as):
    from tests.form_data import survey_form_data

    survey = SurveyFactory(name="Pulse")
    rows = InvitationFactory.create_batch(2, survey=survey)
    InvitationFactory()
    age_everything()

    response = client_as("analyst").post(
        reverse("surveys:survey-edit", args=[survey.pk]), survey_form_data(anonymous="on", status="active")
    )

    assert response.status_code == 302, response.context["form"].errors
    assert pulled(api) == ids(*rows)


def test_imported_answers_list_their_rows_at_the_imports_moment(api, tmp_path):
    customer = CustomerFactory(external_id="C-1")
    path = tmp_path / "answers.csv"
    path.write_text("customer,survey,score,answered_at,comment,touchpoint\nC-1,Legacy,9,2019-06-01,,\n")
    age_everything()

    call_command("import_responses", str(path), stdout=StringIO(), stderr=StringIO())

    (row,) = Invitation.objects.filter(customer=customer)
    assert row.created_at.year == 2019 and row.updated_at > OLD  # not the answer's date: the write's
    assert pulled(api) == ids(row)


# --- Erasure ---------------------------------------------------------------------------------------


def test_an_erasure_moves_the_rows_it_suppresses_or_whose_reason_it_blanks(api, admin):
    customer = CustomerFactory()
    queued = InvitationFactory(customer=customer, state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    failed = InvitationFactory(customer=customer, state=InvitationState.FAILED,
                               last_error="SMTPRecipientsRefused({'jo@x.test': (550, b'5.1.1 jo@x.test unknown')})")
    InvitationFactory()
    age_everything()

    customer_erase(customer=customer, by=admin)

    assert pulled(api) == ids(queued, failed)
    shown = api.get(reverse("api-invitation-detail", args=[failed.pk])).json()
    assert shown["failure_reason"] == "no reason recorded"
