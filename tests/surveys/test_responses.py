"""surveys.responses: finding invitations, their state, storing and editing the one response."""

import datetime as dt
import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from surveys import responses as svc
from surveys.models import InvitationState, Response, ResponseCategory
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation():
    return InvitationFactory(customer=CustomerFactory(segment="SMB", language="de"), touchpoint="checkout")


@pytest.fixture
def alerts():
    with mock.patch("surveys.alerts.send_detractor_alert.delay") as delay:
        yield delay


def submit(invitation, score, reason="", suggestion=""):
    submitted = svc.response_submit(invitation=invitation, score=score, reason=reason, suggestion=suggestion)
    return submitted.response


def test_it_finds_an_invitation_by_token_and_nothing_else(invitation):
    assert svc.invitation_find(invitation.token) == invitation
    assert svc.invitation_find(invitation.token.upper()) is None
    assert svc.invitation_find("") is None
    assert svc.invitation_find("a" * 1000) is None


def test_it_never_finds_a_suppressed_invitation():
    suppressed = InvitationFactory(state=InvitationState.SUPPRESSED, suppression_reason="opted_out")
    assert svc.invitation_find(suppressed.token) is None


def test_the_state_follows_answer_window_and_expiry(invitation, settings):
    settings.SURVEY_EDIT_WINDOW_HOURS = 2
    now = timezone.now()
    assert svc.invitation_state(invitation) == svc.InvitationPageState.OPEN
    assert svc.invitation_state(invitation, now=invitation.expires_at) == svc.InvitationPageState.EXPIRED

    submit(invitation, 7)
    invitation.refresh_from_db()

    assert svc.invitation_state(invitation) == svc.InvitationPageState.EDITABLE
    assert svc.invitation_state(invitation, now=now + dt.timedelta(hours=3)) == svc.InvitationPageState.USED


def test_it_stores_the_answer_with_copies_for_reporting(invitation):
    response = submit(invitation, 6, reason="Slow", suggestion="Faster")

    assert response.category == ResponseCategory.DETRACTOR
    assert (response.touchpoint, response.segment, response.language) == ("checkout", "SMB", "de")
    assert response.source == "web"
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED
    assert invitation.responded_at == response.answered_at


def test_a_first_answer_claims_the_invitation_by_one_update_and_reads_nothing(invitation):
    found = svc.invitation_find(invitation.token)
    with CaptureQueriesContext(connection) as statements:
        svc.response_submit(invitation=found, score=9, reason="Quick")

    sql = [s["sql"].split()[0] for s in statements.captured_queries if "SAVEPOINT" not in s["sql"]]
    # The claim, the response, its first version in history: no SELECT, no SELECT ... FOR UPDATE.
    assert sql == ["UPDATE", "INSERT", "INSERT"]
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED


def test_the_page_finds_everything_the_answer_needs_in_one_query(invitation, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = svc.invitation_find(invitation.token)
        # What the page and the answer read: none of it may cost a query of its own.
        read = [svc.invitation_language(found), svc.survey_question(found.survey), found.customer.segment,
                found.survey.reason_prompt, found.survey.improve_prompt, found.touchpoint, found.expires_at,
                found.survey.anonymous]  # the answer's updated_at depends on it
    assert read[0] == "de" and read[2] == "SMB"


def test_an_expired_invitation_is_not_claimed_and_nothing_is_written(invitation):
    invitation.expires_at = timezone.now() - dt.timedelta(seconds=1)
    invitation.save()

    with pytest.raises(svc.ResponseClosed):
        submit(invitation, 9)

    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.state != InvitationState.RESPONDED and invitation.responded_at is None


def test_an_edit_keeps_the_first_answer_time_and_the_history(invitation):
    first = submit(invitation, 10, reason="Great")
    second = submit(invitation, 8, reason="Good")

    assert first.pk == second.pk
    assert Response.objects.count() == 1
    second.refresh_from_db()
    assert (second.score, second.category, second.answered_at) == (8, "passive", first.answered_at)
    assert [h.reason for h in second.history.order_by("history_date")] == ["Great", "Good"]


def test_the_segment_is_the_one_at_answer_time(invitation):
    response = submit(invitation, 9)
    invitation.customer.segment = "Enterprise"
    invitation.customer.save()
    submit(invitation, 10)
    response.refresh_from_db()
    assert response.segment == "SMB"


def test_an_expired_invitation_takes_no_answer(invitation):
    invitation.expires_at = timezone.now() - dt.timedelta(seconds=1)
    invitation.save()

    with pytest.raises(svc.ResponseClosed) as closed:
        submit(invitation, 9)

    assert closed.value.state == svc.InvitationPageState.EXPIRED
    assert not Response.objects.exists()


def test_an_answer_past_the_window_is_not_changed(invitation, settings):
    submit(invitation, 9, reason="kept")
    invitation.responded_at = timezone.now() - dt.timedelta(hours=settings.SURVEY_EDIT_WINDOW_HOURS, seconds=1)
    invitation.save()

    with pytest.raises(svc.ResponseClosed):
        submit(invitation, 0, reason="changed")

    assert Response.objects.get().reason == "kept"


def test_a_new_detractor_raises_one_alert_after_commit(invitation, alerts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = submit(invitation, 2)
    assert len(callbacks) == 1
    alerts.assert_called_once_with(response.pk)


def test_an_edit_that_stays_detractor_raises_no_second_alert(invitation, alerts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(invitation, 2)
        submit(invitation, 5)
    assert alerts.call_count == 1


def test_an_edit_that_becomes_detractor_raises_an_alert(invitation, alerts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(invitation, 9)
        submit(invitation, 3)
    assert alerts.call_count == 1


def test_promoters_and_passives_raise_no_alert(alerts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(InvitationFactory(), 7)
        submit(InvitationFactory(), 10)
    alerts.assert_not_called()


def test_losing_a_race_to_a_writer_without_the_lock_edits_its_row(invitation):
    # Another writer (an import, say) stored an answer without taking the invitation's lock.
    ResponseFactory(invitation=invitation, score=10)

    response = submit(invitation, 4, reason="late")

    assert Response.objects.count() == 1
    assert (Response.objects.get().score, response.reason) == (4, "late")
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED


def test_unsubscribing_opts_the_customer_out_once(invitation):
    svc.invitation_unsubscribe(invitation=invitation)
    svc.invitation_unsubscribe(invitation=invitation)
    invitation.customer.refresh_from_db()
    assert invitation.customer.survey_opt_out


def test_the_default_wording_is_marked_for_translation():
    survey = SurveyFactory()
    assert set(svc.DEFAULT_WORDING) == {survey.question, survey.reason_prompt, survey.improve_prompt}
    assert all(key == value for key, value in svc.DEFAULT_WORDING.items())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_posts_leave_exactly_one_response():
    invitation = InvitationFactory()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    errors = []

    def post(score):
        try:
            barrier.wait()
            submit(invitation, score)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(score,)) for score in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Response.objects.filter(invitation=invitation).count() == 1
    assert Response.objects.get().history.count() == threads_count
