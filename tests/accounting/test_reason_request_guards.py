"""The "why did you choose us?" request and its page (SPEC §2): what a mutation audit found no
test pinning. A bounced address is not asked; an expired link stores no answer, even when the
service is reached past the page's own check; a text typed under "Other" before another reason
was chosen is not stored; the customer page says when more children or referrals exist than it
shows."""

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounting import selectors
from accounting.models import ReasonRequest
from accounting.services import reason_request_answer, reason_request_create
from surveys.models import SuppressedAddress
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db


def test_staff_cannot_ask_a_bounced_address_and_no_link_is_made(client_as, django_capture_on_commit_callbacks):
    """An address that bounced or complained gets no more email: pressing "ask why" says so and
    makes no request (which would otherwise count as an open link and block the next one)."""
    customer = CustomerFactory(email="Gone@Customer.example.com")
    SuppressedAddress.objects.create(email="gone@customer.example.com", kind="bounced", detail="hard bounce")
    client = client_as("analyst")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounting:customer-reason-request", args=[customer.pk]))

    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == ["Gone@Customer.example.com bounced or complained before: it gets no more email from us."]
    assert not ReasonRequest.objects.filter(customer=customer).exists()


def test_an_expired_link_stores_no_answer_even_past_the_pages_check():
    """The service refuses an expired link itself (the page's check and the row lock are two
    moments: a POST at the last instant can reach the lock after expiry)."""
    customer = CustomerFactory(language="en")
    issued = reason_request_create(customer=customer)
    later = issued.request.expires_at + dt.timedelta(seconds=1)

    with time_machine.travel(later, tick=False), pytest.raises(ValidationError) as refused:
        reason_request_answer(token=issued.token, reason=reason("recommendation"))

    assert refused.value.code == "expired"
    customer.refresh_from_db()
    assert customer.reason is None
    issued.request.refresh_from_db()
    assert issued.request.answered_at is None


def test_a_text_typed_under_other_is_dropped_when_another_reason_is_chosen(client):
    """The text box belongs to "Other": text typed there before the customer picked another
    reason is still posted, and must not be stored as if it explained that reason."""
    customer = CustomerFactory(language="en")
    token = reason_request_create(customer=customer).token

    response = client.post(
        reverse("reason-answer", args=[token]),
        {"reason": reason("recommendation").pk, "reason_text": "Saw your stand at a fair"},
    )

    assert response.status_code == 303
    customer.refresh_from_db()
    assert customer.reason == reason("recommendation")
    assert customer.reason_text == ""


@pytest.mark.parametrize("relation", ["parent", "referred_by"])
def test_the_customer_page_says_when_more_related_customers_exist_than_it_shows(client_as, relation):
    """Past RELATED_LIMIT children (or referrals) the page shows the first ones and says that only
    those are shown; at exactly the limit it says nothing."""
    limit = selectors.RELATED_LIMIT
    full, over = CustomerFactory(external_id="FULL"), CustomerFactory(external_id="OVER")
    CustomerFactory.create_batch(limit, **{relation: full})
    CustomerFactory.create_batch(limit + 1, **{relation: over})
    client = client_as("analyst")
    note = f"Only the first {limit} are shown."

    assert note not in client.get(reverse("accounting:customer-detail", args=[full.pk])).text
    assert note in client.get(reverse("accounting:customer-detail", args=[over.pk])).text
