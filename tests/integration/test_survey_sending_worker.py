"""Survey emails end to end: a real SMTP server (aiosmtpd), a real Celery worker on Redis, PostgreSQL."""

import os
import re
import signal
from collections import Counter

import pytest
from django.urls import NoReverseMatch, reverse

from surveys import sending
from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, Response
from tests.factories import CustomerFactory, SurveyFactory
from tests.integration.conftest import wait_for
from tests.integration.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

SCORE_LINK = re.compile(r"https?://[^/\s]+(/s/[A-Za-z0-9_-]+/)\?score=(\d+)")


def text_part(message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def unfinished():
    return Invitation.objects.filter(state__in=[InvitationState.QUEUED, InvitationState.SENDING]).count()


def test_a_launch_is_emailed_and_a_customer_answers_from_the_link(celery_worker_factory, client):
    with SmtpSink() as sink:
        celery_worker_factory(**sink.worker_env(), SURVEY_SEND_RATE_PER_SECOND="0")
        customers = CustomerFactory.create_batch(3)

        survey_launch(survey=SurveyFactory())  # autocommit: on_commit enqueues into Redis now

        assert wait_for(lambda: sink.count == 3 and unfinished() == 0), f"{sink.count} of 3 emails arrived"
        assert sorted(m["To"] for m in sink.messages) == sorted(c.email for c in customers)
        message = next(m for m in sink.messages if m["To"] == customers[0].email)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links = SCORE_LINK.findall(text_part(message))
        assert [int(score) for _, score in links] == list(range(11))

    try:
        reverse("survey-answer", args=["x" * 43])
    except NoReverseMatch:
        pytest.skip("the answer page (URL name 'survey-answer') does not exist yet")
    path = links[9][0]
    invitation = Invitation.objects.get(customer=customers[0])
    assert invitation.state == InvitationState.SENT and invitation.message_id == message["Message-ID"]

    page = client.get(path, {"score": 9})
    assert page.status_code == 200 and not Response.objects.exists()  # a GET changes nothing

    client.post(path, {"score": 9, "reason": "Quick and friendly support"})

    response = Response.objects.get()
    invitation.refresh_from_db()
    assert (response.score, response.reason, response.customer) == (9, "Quick and friendly support", customers[0])
    assert invitation.state == InvitationState.RESPONDED


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(celery_worker_factory, settings, monkeypatch):
    with SmtpSink(delay=0.3) as sink:
        first = celery_worker_factory(**sink.worker_env(), SURVEY_SEND_RATE_PER_SECOND="0")
        CustomerFactory.create_batch(24)
        survey_launch(survey=SurveyFactory())
        assert wait_for(lambda: sink.count >= 5), "the first worker sent nothing"

        os.kill(first.pid, signal.SIGKILL)  # mid-batch: one message is most likely in flight
        first.wait(timeout=10)
        assert unfinished() > 0, "the batch finished before the kill; make the sink slower"
        assert Invitation.objects.filter(state=InvitationState.SENDING).count() <= 1

        # The beat's sweeper, with the stale delay elapsed and no sender alive.
        settings.SURVEY_SENDING_STALE_MINUTES = 0
        monkeypatch.setattr(sending, "SENDER_IDLE_SECONDS", 0)
        from surveys.tasks import sweep_invitations

        # The sweep first, then the new worker: with the stale delay at 0 the sweep would also fail
        # a row the new worker had just claimed (a leftover shard's task reaches it at once).
        sweep_invitations.apply()  # in this process: the send tasks it enqueues wait for the new worker
        celery_worker_factory(**sink.worker_env(), SURVEY_SEND_RATE_PER_SECOND="0")

        assert wait_for(lambda: unfinished() == 0, timeout=60), f"{unfinished()} invitations still unsent"
        delivered = Counter(m["To"] for m in sink.messages)

    assert max(delivered.values()) == 1, f"delivered twice: {[a for a, n in delivered.items() if n > 1]}"
    rows = list(Invitation.objects.all())
    sent = [r for r in rows if r.state == InvitationState.SENT]
    failed = [r for r in rows if r.state == InvitationState.FAILED]
    assert len(sent) + len(failed) == 24
    assert len(failed) <= 1 and all(r.last_error == sending.INTERRUPTED for r in failed)
    assert all(delivered[r.email] == 1 for r in sent)
