"""send_batch checks a queued invitation anew: an address that bounced or complained after the
launch is not emailed, as the launch would not have emailed it. The address is the customer's
current one, not the row's copy from the launch."""

import pytest
from django.core import mail

from surveys import sending
from surveys.models import InvitationState, SuppressedAddress
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_pacing(settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0


def queued(**kwargs):
    return InvitationFactory(state=InvitationState.QUEUED, sent_at=None, expires_at=None, **kwargs)


def test_an_address_suppressed_after_the_launch_is_not_emailed():
    survey = SurveyFactory()
    complained = queued(survey=survey, customer=CustomerFactory(email="Spam.Button@Example.com"))
    no_copy = queued(survey=survey, email="", customer=CustomerFactory(email="gone@x.org"))  # the customer's
    moved = queued(survey=survey, email="fine@x.org", customer=CustomerFactory(email="b@x.org"))  # changed since
    SuppressedAddress.objects.create(email="spam.button@example.com", kind="complained")
    SuppressedAddress.objects.create(email="gone@x.org", kind="bounced")
    SuppressedAddress.objects.create(email="b@x.org", kind="bounced")
    waiting = queued(survey=survey)

    result = sending.send_batch()

    assert [m.to for m in mail.outbox] == [[waiting.email]]
    assert (result.sent, result.skipped) == (1, 3)
    for row in (complained, no_copy, moved):
        row.refresh_from_db()
        assert (row.state, row.suppression_reason) == ("suppressed", "bounced_before")
