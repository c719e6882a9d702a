"""An invalid POST on a customer's token page (the answer page, the reason page) answers 400 with the
form and its errors, as every staff form does; it answered 200, as if the answer had been taken."""

import pytest
from django.test import Client

from accounting.models import ReasonCategory
from accounting.services import reason_request_create, reason_request_find
from surveys.models import Response
from tests.factories import CustomerFactory, InvitationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.mark.parametrize("data", [{}, {"score": "11"}, {"score": "5", "reason": "x" * 4001}])
def test_it_answers_an_invalid_answer_post_with_400_and_the_form(data):
    invitation = InvitationFactory(customer=CustomerFactory(language="fr"))

    response = Client().post(f"/s/{invitation.token}/", data)

    assert response.status_code == 400
    assert 'name="score"' in response.text  # the same page, with its errors
    assert "no-store" in response["Cache-Control"]
    assert not Response.objects.exists()


def test_a_valid_answer_post_still_redirects():
    invitation = InvitationFactory()

    assert Client().post(f"/s/{invitation.token}/", {"score": "9"}).status_code == 303


@pytest.mark.parametrize("data", ["no choice", "other without text", "unknown choice"])
def test_it_answers_an_invalid_reason_post_with_400_and_the_form(data):
    token = reason_request_create(customer=CustomerFactory(language="en")).token
    other = ReasonCategory.objects.get(slug="other")
    post = {"no choice": {}, "other without text": {"reason": other.pk}, "unknown choice": {"reason": "999999"}}[data]

    response = Client().post(f"/why/{token}/", post)

    assert response.status_code == 400
    assert 'name="reason"' in response.text
    assert reason_request_find(token).answered_at is None


def test_the_reason_form_still_opens_with_200():
    token = reason_request_create(customer=CustomerFactory()).token

    assert Client().get(f"/why/{token}/").status_code == 200
