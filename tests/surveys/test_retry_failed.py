"""Failed invitations queued again: each checked anew, interrupted ones only when asked for."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from surveys import sending
from surveys.launch import survey_retry_failed
from surveys.models import Invitation, InvitationState, SuppressedAddress, SurveyKind, SurveyStatus
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

REFUSED = "SMTPRecipientsRefused({'c@example.com': (550, b'relay denied')})"


def failed(survey, *, error=REFUSED, **kwargs):
    return InvitationFactory(
        survey=survey, state=InvitationState.FAILED, sent_at=None, expires_at=None, attempts=1, last_error=error,
        **kwargs,
    )


@pytest.fixture
def survey():
    return SurveyFactory(throttle_days=30, expiry_days=10)


def state(invitation):
    invitation.refresh_from_db()
    return invitation.state, invitation.suppression_reason


def test_a_failed_invitation_is_queued_again_to_the_customers_current_address(
    survey, django_capture_on_commit_callbacks, settings, mailoutbox
):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    customer = CustomerFactory(email="old@example.com")
    row = failed(survey, customer=customer)
    customer.email = "corrected@example.com"
    customer.save()
    before = timezone.now()

    with django_capture_on_commit_callbacks() as callbacks:
        retry = survey_retry_failed(survey=survey)

    assert (retry.queued, retry.suppressed) == (1, {})
    assert len(callbacks) == 1  # the senders are started once the rows are committed
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error, row.email) == ("queued", 0, "", "corrected@example.com")
    assert row.send_after >= before and row.claimed_at is None
    token_hash = row.token_hash

    assert sending.send_batch().sent == 1
    assert [message.to for message in mailoutbox] == [["corrected@example.com"]]
    row.refresh_from_db()
    assert row.state == InvitationState.SENT and row.token_hash == token_hash  # the same row and link


def test_interrupted_rows_are_left_alone_unless_asked_for(survey):
    refused = failed(survey)
    interrupted = failed(survey, error=sending.INTERRUPTED)

    assert survey_retry_failed(survey=survey).queued == 1
    assert state(refused) == ("queued", "") and state(interrupted) == ("failed", "")

    assert survey_retry_failed(survey=survey, include_interrupted=True).queued == 1
    assert state(interrupted) == ("queued", "")


def test_an_interrupted_row_that_would_now_be_suppressed_is_kept_with_its_link(survey, client):
    interrupted = failed(survey, error=sending.INTERRUPTED)
    InvitationFactory(customer=interrupted.customer)  # invited to another survey since: throttled

    retry = survey_retry_failed(survey=survey, include_interrupted=True)

    assert (retry.queued, retry.suppressed, retry.kept_interrupted) == (0, {}, 1)
    interrupted.refresh_from_db()
    assert (interrupted.state, interrupted.last_error) == ("failed", sending.INTERRUPTED)
    # Its email may have arrived: the link still opens the survey, not the "link not found" page.
    assert client.get(f"/s/{interrupted.token}/").status_code == 200


def test_the_survey_page_says_how_many_interrupted_ones_were_kept(survey, client_as):
    interrupted = failed(survey, error=sending.INTERRUPTED)
    InvitationFactory(customer=interrupted.customer)  # throttled now

    page = client_as("analyst").post(
        f"/surveys/{survey.pk}/retry-failed/", {"include_interrupted": "on"}, follow=True
    ).content.decode()

    assert "1 interrupted invitation(s) kept as they were" in page


def test_each_row_is_checked_anew_like_a_launch(survey):
    opted_out = failed(survey, customer=CustomerFactory(survey_opt_out=True))
    no_email = failed(survey, customer=CustomerFactory(email=""))
    bounced = failed(survey, customer=CustomerFactory(email="Gone@Example.com"))
    SuppressedAddress.objects.create(email="gone@example.com", kind="bounce")
    invited_since = failed(survey)
    InvitationFactory(customer=invited_since.customer)  # another survey reached them meanwhile
    fine = failed(survey)

    retry = survey_retry_failed(survey=survey)

    assert retry.queued == 1
    assert retry.suppressed == {"opted_out": 1, "no_email": 1, "bounced_before": 1, "throttled": 1}
    assert state(opted_out) == ("suppressed", "opted_out")
    assert state(no_email) == ("suppressed", "no_email")
    assert state(bounced) == ("suppressed", "bounced_before")
    assert state(invited_since) == ("suppressed", "throttled")
    assert state(fine) == ("queued", "")


def test_one_customer_with_two_failed_rows_is_emailed_once():
    survey, customer = SurveyFactory(throttle_days=0), CustomerFactory()
    first, second = failed(survey, customer=customer), failed(survey, customer=customer)

    retry = survey_retry_failed(survey=survey)

    assert (retry.queued, retry.suppressed) == (1, {"throttled": 1})
    assert state(first) == ("queued", "") and state(second) == ("suppressed", "throttled")


def test_a_second_retry_queues_nothing_more(survey):
    failed(survey)
    survey_retry_failed(survey=survey)

    retry = survey_retry_failed(survey=survey)

    assert (retry.queued, retry.suppressed) == (0, {})
    assert Invitation.objects.filter(state=InvitationState.QUEUED).count() == 1


def test_other_surveys_and_other_states_are_untouched(survey):
    other = failed(SurveyFactory())
    sent = InvitationFactory(survey=survey)

    assert survey_retry_failed(survey=survey).queued == 0
    assert state(other) == ("failed", "") and state(sent) == ("sent", "")


def test_a_closed_survey_is_not_retried(survey):
    survey.status = SurveyStatus.CLOSED
    survey.save()
    row = failed(survey)

    with pytest.raises(ValidationError, match="closed"):
        survey_retry_failed(survey=survey)
    assert state(row) == ("failed", "")


def test_transactional_surveys_are_retried_too():
    row = failed(SurveyFactory(kind=SurveyKind.TRANSACTIONAL), reference="ORDER-1")

    assert survey_retry_failed(survey=row.survey).queued == 1


# --- The staff page and the API ---------------------------------------------------------------------


def test_the_survey_page_offers_the_retry_and_names_the_interrupted(survey, client_as):
    failed(survey)
    failed(survey, error=sending.INTERRUPTED)

    page = client_as("analyst").get(f"/surveys/{survey.pk}/").text

    assert "2 invitations could not be sent, 1 of them interrupted while sending" in page
    assert 'name="include_interrupted"' in page and "Retry failed invitations" in page


def test_the_retry_form_is_not_shown_without_failures(survey, client_as):
    InvitationFactory(survey=survey)
    assert "Retry failed invitations" not in client_as("analyst").get(f"/surveys/{survey.pk}/").text


def test_the_retry_button_queues_the_failed_and_says_so(survey, client_as):
    row = failed(survey)
    interrupted = failed(survey, error=sending.INTERRUPTED)
    failed(survey, customer=CustomerFactory(survey_opt_out=True))
    client = client_as("analyst")

    response = client.post(f"/surveys/{survey.pk}/retry-failed/", follow=True)

    assert response.redirect_chain == [(f"/surveys/{survey.pk}/", 302)]
    # The reason by its label, as the survey page beside the message names it (not "opted_out").
    assert "Queued 1 failed invitation(s) again; 1 suppressed now (Opted out: 1)." in response.text
    assert state(row) == ("queued", "") and state(interrupted) == ("failed", "")

    client.post(f"/surveys/{survey.pk}/retry-failed/", {"include_interrupted": "on"})
    assert state(interrupted) == ("queued", "")


def test_the_retry_message_names_each_reason_as_the_survey_page_lists_them(survey, client_as):
    failed(survey, customer=CustomerFactory(survey_opt_out=True))
    failed(survey, customer=CustomerFactory(email=""))
    failed(survey)

    response = client_as("analyst").post(f"/surveys/{survey.pk}/retry-failed/", follow=True)

    assert (
        "Queued 1 failed invitation(s) again; 2 suppressed now (Opted out: 1, No email address: 1)."
        in response.text
    )


def test_a_get_or_a_viewer_retries_nothing(survey, client_as):
    row = failed(survey)

    assert client_as("analyst").get(f"/surveys/{survey.pk}/retry-failed/").status_code == 405
    assert client_as("viewer").post(f"/surveys/{survey.pk}/retry-failed/").status_code == 403
    assert state(row) == ("failed", "")


def test_the_api_retries_and_answers_with_the_counts(survey, client_as):
    failed(survey)
    interrupted = failed(survey, error=sending.INTERRUPTED)
    client = client_as("analyst")
    url = f"/api/surveys/{survey.pk}/retry-failed/"

    first = client.post(url, {}, content_type="application/json")
    assert (first.status_code, first.json()) == (200, {"queued": 1, "suppressed": {}, "kept_interrupted": 0})

    second = client.post(url, {"include_interrupted": True}, content_type="application/json")
    assert second.json() == {"queued": 1, "suppressed": {}, "kept_interrupted": 0}
    assert state(interrupted) == ("queued", "")


def test_the_api_refuses_a_closed_survey_with_a_400(survey, client_as):
    survey.status = SurveyStatus.CLOSED
    survey.save()
    failed(survey)

    response = client_as("analyst").post(f"/api/surveys/{survey.pk}/retry-failed/", {}, content_type="application/json")

    assert response.status_code == 400 and "closed" in str(response.json())


@pytest.mark.parametrize("through", ["service", "button"])
def test_the_query_count_does_not_grow_with_the_failed_rows(through, client_as):
    """It read each row's survey_id back one query per row (20,000 failed rows: 48 s on PostgreSQL)."""
    client = client_as("analyst")
    counts = []
    for n in (5, 15):
        survey = SurveyFactory()
        for _ in range(n):
            failed(survey)
        with CaptureQueriesContext(connection) as queries:
            if through == "service":
                assert survey_retry_failed(survey=survey).queued == n
            else:
                assert client.post(f"/surveys/{survey.pk}/retry-failed/").status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1], f"5 failed rows: {counts[0]} queries, 15: {counts[1]}"
