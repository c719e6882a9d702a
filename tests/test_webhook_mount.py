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
