"""The emailed "why did you choose us?" page speaks the customer's language on every page it can
show: the answered, thank-you and expired pages, and the form's errors."""

import datetime as dt

import pytest
from django.utils import timezone

from accounting.models import ReasonRequest
from accounting.services import reason_request_create
from tests.factories import CustomerFactory, reason

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def issued(language):
    return reason_request_create(customer=CustomerFactory(language=language))


@pytest.mark.parametrize("language", ["fr", "de"])
def test_the_answered_thank_you_and_expired_pages_are_translated(client, language):
    link = issued(language)
    url = f"/why/{link.token}/"
    client.post(url, {"reason": reason("advertising").pk})
    answered = client.get(url).content.decode()
    thanks = client.get(url + "?thanks=recorded").content.decode()
    expired_link = issued(language)
    ReasonRequest.objects.filter(pk=expired_link.request.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = client.get(f"/why/{expired_link.token}/").content.decode()

    for page in (answered, thanks, expired):
        assert "Thank you" not in page and "expired" not in page, page[:2000]


@pytest.mark.parametrize("language", ["fr", "de"])
def test_the_form_errors_are_translated(client, language):
    url = f"/why/{issued(language).token}/"

    pages = [
        client.post(url, {}).content.decode(),
        client.post(url, {"reason": reason("other").pk, "reason_text": "  "}).content.decode(),
        client.post(url, {"reason": "999999"}).content.decode(),
    ]

    for page in pages:
        for english in ("Please choose", "Please tell us", "listed reasons"):
            assert english not in page, english
