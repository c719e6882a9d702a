"""A SECRET_KEY rotation: the invitation links made before it still go out as made.

An invitation's link token is HMAC(SECRET_KEY, salt) and only its hash is stored: after a rotation
the link already in an inbox opens (looked up by hash), but an invitation made before it and emailed
after it (queued by a launch or a delayed trigger, or a reminder) used to be rebuilt with the new key:
a link, and a List-Unsubscribe one-click, that open nothing, counted as sent. With the old key in
SECRET_KEY_FALLBACKS they go out as made; with no key that makes them,
nothing that opens nothing is emailed.
"""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from surveys import sending
from surveys.models import Invitation, InvitationState
from tests.factories import InvitationFactory, SurveyFactory

OLD, NEW = "old-key-" + "a" * 50, "new-key-" + "b" * 50


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []


def _link(message) -> str:
    return re.search(r"/s/([A-Za-z0-9_-]+)/", message.body)[1]


def _opens(token: str) -> bool:
    return Client().get(f"/s/{token}/").status_code == 200


@pytest.mark.django_db
def test_an_invitation_queued_before_a_rotation_is_emailed_with_a_link_that_opens(settings):
    row = InvitationFactory(survey=SurveyFactory(expiry_days=10), state=InvitationState.QUEUED,
                            sent_at=None, expires_at=None)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]

    assert sending.send_batch().sent == 1

    (message,) = mail.outbox
    assert _opens(_link(message))
    unsubscribe = urlsplit(message.extra_headers["List-Unsubscribe"].strip("<>")).path
    one_click = Client().post(unsubscribe, "List-Unsubscribe=One-Click",
                              content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    row.customer.refresh_from_db()
    assert row.customer.survey_opt_out


@pytest.mark.django_db
def test_a_reminder_after_a_rotation_carries_the_link_of_the_first_email(settings):
    survey = SurveyFactory(reminder_days=3)
    row = InvitationFactory(survey=survey, sent_at=timezone.now() - dt.timedelta(days=4))
    first_link = row.token
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]

    assert sending.send_reminders().sent == 1

    assert _link(mail.outbox[0]) == first_link
    assert _opens(first_link)


@pytest.mark.django_db
def test_with_the_old_key_gone_no_dead_link_is_emailed(settings):
    queued = InvitationFactory(survey=SurveyFactory(), state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    reminded = InvitationFactory(survey=SurveyFactory(reminder_days=3), sent_at=timezone.now() - dt.timedelta(days=4))
    settings.SECRET_KEY = NEW  # the old one lost: no fallback

    sending.send_batch()
    sending.send_reminders()

    assert mail.outbox == []
    queued.refresh_from_db()
    assert queued.state == InvitationState.FAILED and "SECRET_KEY_FALLBACKS" in queued.last_error
    assert Invitation.objects.get(pk=reminded.pk).reminder_sent_at is None


@pytest.mark.django_db
def test_new_invitations_take_the_current_key(settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    row = InvitationFactory(survey=SurveyFactory(), state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    settings.SECRET_KEY_FALLBACKS = []  # the old key retired: the new rows go on working

    assert sending.send_batch().sent == 1
    assert _opens(_link(mail.outbox[0]))
    assert Invitation.objects.get(pk=row.pk).state == InvitationState.SENT
