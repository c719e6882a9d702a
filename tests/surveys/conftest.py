"""Fixtures of the survey tests: an SMTP server (aiosmtpd) that refuses or delays on cue."""

import asyncio
import threading

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache

from tests.integration.smtp_sink import free_port


class Handler:
    """Answers each RCPT of an address with its next scripted reply (`rcpt`: address -> replies), then
    250; DATA after `data_delay` seconds."""

    def __init__(self, rcpt=None, data_delay=0.0):
        self.rcpt = {address: list(replies) for address, replies in (rcpt or {}).items()}
        self.data_delay = data_delay
        self.rcpt_seen: list[str] = []
        self.delivered: list[str] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        with self.lock:
            self.rcpt_seen.append(address)
            replies = self.rcpt.get(address)
            if replies:
                return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(self.data_delay)
        with self.lock:
            self.delivered.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """start(rcpt=..., data_delay=...) -> the handler; the email backend sends there. On a free
    port: a fixed one collided with any other test run on the machine."""
    controllers = []

    def start(rcpt=None, data_delay=0.0):
        port = free_port()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 10
        settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
        settings.SURVEY_SEND_RATE_PER_SECOND = 0
        handler = Handler(rcpt, data_delay)
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler

    cache.clear()
    yield start
    for controller in controllers:
        controller.stop()
    cache.clear()
