"""The emailed reason link end to end: Redis, a real Celery worker, PostgreSQL, the public page."""

import re
from email import message_from_bytes

import pytest
from django.urls import reverse

from accounting.models import ReasonCategory
from accounting.services import reason_request_create
from tests.factories import CustomerFactory
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def test_a_worker_emails_the_link_and_the_customer_answers_once(celery_worker_process, mail_dir, client):
    customer = CustomerFactory(email="jo@customer.example.com")

    reason_request_create(customer=customer)  # no atomic block: on_commit fires now, into Redis

    assert wait_for(lambda: any(mail_dir.iterdir())), "the worker sent no email"
    message = message_from_bytes(next(mail_dir.iterdir()).read_bytes().split(b"\n-----", 1)[0])
    assert message["To"] == "jo@customer.example.com"
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
    token = re.search(rb"/why/([A-Za-z0-9_-]{43})/", body).group(1).decode()

    page = client.get(reverse("reason-answer", args=[token]))
    customer.refresh_from_db()
    assert page.status_code == 200 and customer.reason is None  # a GET changes nothing

    choice = ReasonCategory.objects.get(slug="recommendation")
    client.post(reverse("reason-answer", args=[token]), {"reason": choice.pk})
    client.post(reverse("reason-answer", args=[token]), {"reason": ReasonCategory.objects.get(slug="advertising").pk})

    customer.refresh_from_db()
    assert customer.reason == choice and customer.reason_source == "email"
    request = customer.reason_requests.get()
    assert request.sent_at is not None and request.answered_at is not None
