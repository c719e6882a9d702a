"""The bounce and complaint webhooks exist only behind a secret: open, anybody could suppress addresses."""

import base64
import importlib

import pytest
from django.urls import clear_url_caches

import cxplatform.urls
from surveys.models import SuppressedAddress

pytestmark = pytest.mark.django_db

URL = "/webhooks/anymail/postmark/tracking/"
BOUNCE = {
    "RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "Email": "victim@customer.example.com",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "BouncedAt": "2026-11-29T10:00:00Z",
    "Description": "mailbox unavailable", "Details": "", "Inactive": True, "CanActivate": True,
}


@pytest.fixture
def mounted(settings):
    """Reload the URLs under a given webhook secret; the project's own afterwards."""

    def mount(secret: str):
        settings.ANYMAIL = {"WEBHOOK_SECRET": secret}
        clear_url_caches()
        importlib.reload(cxplatform.urls)

    yield mount
    clear_url_caches()
    importlib.reload(cxplatform.urls)


def test_without_a_secret_the_webhooks_are_not_served(client, mounted):
    mounted("")

    response = client.post(URL, BOUNCE, content_type="application/json")

    assert response.status_code == 404
    assert not SuppressedAddress.objects.exists()


def test_with_a_secret_only_an_authenticated_event_is_taken(client, mounted):
    mounted("postmark:s3cret-webhook-password")
    good = "Basic " + base64.b64encode(b"postmark:s3cret-webhook-password").decode()

    forged = client.post(URL, BOUNCE, content_type="application/json")
    genuine = client.post(URL, BOUNCE, content_type="application/json", HTTP_AUTHORIZATION=good)

    assert forged.status_code == 400
    assert genuine.status_code == 200
    assert SuppressedAddress.objects.filter(email="victim@customer.example.com").count() == 1


def test_a_provider_not_set_up_here_answers_not_found_not_a_server_error(mounted):
    """Every provider's tracking URL is mounted; one whose signing key (or package) is missing
    fails while its view is built, before any credential check: anybody could cause that 500."""
    from django.test import Client

    from surveys.webhook_routes import tracking_patterns

    mounted("provider:s3cret-webhook-password")
    client = Client(raise_request_exception=False)
    statuses = {}
    for pattern in tracking_patterns():
        route = str(pattern.pattern).lstrip("^").rstrip("$")
        statuses[route] = client.post(f"/webhooks/anymail/{route}", "{}", content_type="application/json").status_code
    assert {route: status for route, status in statuses.items() if status >= 500} == {}
    assert statuses["mailgun/tracking/"] == 404  # no signing key here
    assert statuses["postmark/tracking/"] in (400, 401, 403)  # set up: refused for want of credentials


def test_inbound_mail_endpoints_are_not_mounted(client, mounted):
    mounted("postmark:s3cret-webhook-password")
    assert client.post("/webhooks/anymail/postmark/inbound/", "{}", content_type="application/json").status_code == 404
