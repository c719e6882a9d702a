"""A real SMTP server for tests and benchmarks (aiosmtpd), on 127.0.0.1 and a free port.

It keeps every accepted message (or only counts them), and can be made slow per message to give
a test time to kill a worker mid-batch.
"""

import asyncio
import socket
import threading
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    def __init__(self, *, delay: float = 0.0, keep: bool = True):
        self.delay = delay
        self.keep = keep
        self.count = 0
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.count += 1
            if self.keep:
                self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, *, delay: float = 0.0, keep: bool = True):
        self.handler = SinkHandler(delay=delay, keep=keep)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self) -> list[Message]:
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def count(self) -> int:
        return self.handler.count

    def worker_env(self) -> dict:
        """Settings for a worker process that should send here."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }
