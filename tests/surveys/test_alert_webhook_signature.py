"""Detractor alert webhooks are signed when ALERT_WEBHOOK_SECRET is set: an HMAC-SHA256 of
"<timestamp>.<body>", so that a receiver can tell a real alert from anybody's POST to its URL."""

import hashlib
import hmac
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from surveys.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, send_detractor_alert, webhook_headers
from surveys.models import Response
from tests.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-shared-with-the-receiver"


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver computes, as the README tells it to."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@pytest.fixture
def receiver(settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True  # it listens on 127.0.0.1
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def post_alert(url: str) -> None:
    response = ResponseFactory(score=2, invitation__survey=SurveyFactory(alert_webhook_url=url))
    Response.objects.filter(pk=response.pk).update(alert_due=True)
    send_detractor_alert.apply(args=[response.pk], kwargs={"parts": ["webhook"]})


def test_a_signed_alert_verifies_with_the_shared_secret(settings, receiver):
    settings.ALERT_WEBHOOK_SECRET = SECRET
    url, received = receiver
    post_alert(url)
    [(headers, body)] = received
    assert headers[SIGNATURE_HEADER] == expected_signature(SECRET, headers[TIMESTAMP_HEADER], body)
    assert headers[SIGNATURE_HEADER] != expected_signature("another secret", headers[TIMESTAMP_HEADER], body)


def test_without_a_secret_the_alert_carries_no_signature(settings, receiver):
    settings.ALERT_WEBHOOK_SECRET = ""
    url, received = receiver
    post_alert(url)
    [(headers, _)] = received
    assert SIGNATURE_HEADER not in headers and TIMESTAMP_HEADER not in headers


def test_the_signature_covers_the_timestamp_and_every_byte_of_the_body(settings):
    settings.ALERT_WEBHOOK_SECRET = SECRET
    body = b'{"event": "nps.detractor", "score": 2}'
    headers = webhook_headers(body, now=1_800_000_000)
    assert headers[TIMESTAMP_HEADER] == "1800000000"
    assert headers[SIGNATURE_HEADER] == expected_signature(SECRET, "1800000000", body)
    assert webhook_headers(body, now=1_800_000_001)[SIGNATURE_HEADER] != headers[SIGNATURE_HEADER]
    assert webhook_headers(body.replace(b"2", b"9"), now=1_800_000_000)[SIGNATURE_HEADER] != headers[SIGNATURE_HEADER]
