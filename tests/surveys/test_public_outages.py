"""Redis down, without Redis (runs on SQLite too): the answer page and a launch survive it.

The full outage, with a real redis-server stopped and restarted, is in tests/integration/test_faults.py.
"""

from unittest import mock

import pytest
from kombu.exceptions import OperationalError as BrokerDown

from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, Response
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
