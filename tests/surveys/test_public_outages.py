"""Redis down, without Redis (runs on SQLite too): the answer page and a launch survive it, and
staff are told when sending could not be started.

The full outage, with a real redis-server stopped and restarted, is in tests/integration/test_faults.py.
"""

import logging
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerDown

from surveys.launch import SENDING_NOT_STARTED, survey_launch
from surveys.models import Invitation, InvitationState, Response
from surveys.tasks import sweep_invitations
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory
from tests.integration.smtp_sink import free_port

pytestmark = pytest.mark.django_db


def test_the_answer_page_fails_open_when_the_rate_limit_cache_is_down(client, settings):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}}
    invitation = InvitationFactory()

    page = client.post(f"/s/{invitation.token}/", {"score": 9, "reason": "Friendly"}, follow=True)
    unsubscribe = client.post(f"/s/{invitation.token}/unsubscribe/")

    assert page.redirect_chain[0][1] == 303
    assert page.status_code == 200 and "Your answer has been recorded" in page.content.decode()
    assert Response.objects.get(invitation=invitation).reason == "Friendly"
    assert unsubscribe.status_code == 200
    invitation.customer.refresh_from_db()
    assert invitation.customer.survey_opt_out


def test_a_launch_commits_its_invitations_when_the_broker_is_down(django_capture_on_commit_callbacks):
    customers = CustomerFactory.create_batch(3)
    failing = mock.Mock(side_effect=BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused."))

    with mock.patch("surveys.tasks.enqueue_senders", failing), django_capture_on_commit_callbacks(execute=True):
        launch = survey_launch(survey=SurveyFactory())

    failing.assert_called_once()  # tried, failed quietly: the sweeper restarts sending later
    queued = Invitation.objects.filter(launch=launch, state=InvitationState.QUEUED)
    assert sorted(queued.values_list("customer_id", flat=True)) == sorted(c.pk for c in customers)


# --- What staff read when the broker refused the sending -------------------------------------------

BROKER_REFUSED = BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.django_db(transaction=True)  # the hand-over runs at the launch's own commit
def test_a_launch_the_broker_refused_says_sending_has_not_started(client_as, caplog):
    """It read "queued for sending" while nothing would send before the sweeper's next run, and the
    log held Django's on_commit() traceback, naming `_enqueue_sending.<locals>.<lambda>`."""
    CustomerFactory.create_batch(2)
    survey = SurveyFactory()

    with mock.patch("surveys.tasks.send_invitations.apply_async", side_effect=BROKER_REFUSED):
        response = client_as("analyst").post(reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on"},
                                             follow=True)

    (message,) = response.context["messages"]
    assert message.level_tag == "warning"
    assert str(message) == f"Launched to 2 customer(s): 2 queued for sending, 0 suppressed. {SENDING_NOT_STARTED}"
    assert Invitation.objects.filter(survey=survey, state=InvitationState.QUEUED).count() == 2
    (line,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.exc_info is None and line.getMessage() == (
        f"Survey sending not queued: broker unreachable ({BROKER_REFUSED}); the sweeper starts it once it is back"
    )


@pytest.mark.django_db(transaction=True)
def test_send_survey_says_sending_has_not_started_when_the_broker_is_down():
    CustomerFactory.create_batch(2)
    out, err = StringIO(), StringIO()

    with mock.patch("surveys.tasks.send_invitations.apply_async", side_effect=BROKER_REFUSED):
        call_command("send_survey", "Pulse", stdout=out, stderr=err)

    assert "queued: 2" in out.getvalue()
    assert err.getvalue() == SENDING_NOT_STARTED + "\n"


def test_the_sweeper_says_it_restarted_nothing_while_the_broker_is_down():
    InvitationFactory(state=InvitationState.QUEUED, sent_at=None, expires_at=None)

    with mock.patch("surveys.tasks.send_invitations.apply_async", side_effect=BROKER_REFUSED):
        assert sweep_invitations()["restarted"] is False
