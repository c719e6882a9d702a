"""A reason request retried after a transient SMTP error keeps its token out of the worker's log."""

import smtplib
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core.mail import EmailMultiAlternatives

from accounting.services import reason_request_create
from accounting.tasks import send_reason_request
from cxplatform.celery import app
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_retried_message_shows_a_placeholder_not_the_token(settings):
    """Celery builds a retry's message from the request, without the first message's argsrepr;
    with none, the message carries repr(args), and the worker logs it when the message arrives."""
    issued = reason_request_create(customer=CustomerFactory())
    sent = []

    def send_task(name, args=None, kwargs=None, **options):
        sent.append({"args": args, **options})
        return mock.Mock()

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        with mock.patch.object(app, "send_task", side_effect=send_task):
            send_reason_request.push_request(
                id="t1", args=[issued.request.pk, issued.token], kwargs={}, retries=0, is_eager=False,
                called_directly=False, delivery_info={}, headers={},
                argsrepr=f"({issued.request.pk}, '<token>')",
            )
            try:
                failing = mock.patch.object(EmailMultiAlternatives, "send",
                                            side_effect=smtplib.SMTPServerDisconnected("down"))
                with failing, pytest.raises(Retry):
                    send_reason_request.run(issued.request.pk, issued.token)
            finally:
                send_reason_request.pop_request()
    finally:
        app.conf.task_always_eager = True

    [retry] = sent
    assert list(retry["args"]) == [issued.request.pk, issued.token]  # the worker still gets the token
    assert retry["argsrepr"] == f"({issued.request.pk}, '<token>')"
