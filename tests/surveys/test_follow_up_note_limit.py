"""A response's follow-up note: one limit (FOLLOW_UP_NOTE_MAX_LENGTH) on the staff page and the API,
its line breaks counted as the page's textarea counts them."""

import pytest
from django.urls import reverse

from surveys.models import FOLLOW_UP_NOTE_MAX_LENGTH, Response
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db


def _follow_up_page(client, response, note):
    return client.post(reverse("surveys:response-follow-up", args=[response.pk]), {"note": note, "done": "on"})


def test_api_refuses_a_follow_up_note_the_staff_form_refuses(api_client_as, client_as):
    note = "n" * (FOLLOW_UP_NOTE_MAX_LENGTH + 1)
    first, second = ResponseFactory(score=2), ResponseFactory(score=2)
    assert _follow_up_page(client_as("analyst"), first, note).status_code == 400

    api = api_client_as("analyst").patch(f"/api/responses/{second.pk}/", {"follow_up_note": note}, format="json")

    assert api.status_code == 400, f"API stored a {len(Response.objects.get(pk=second.pk).follow_up_note)}-char note"
    assert "follow_up_note" in api.json()
    assert Response.objects.get(pk=second.pk).followed_up_at is None


def test_api_takes_a_follow_up_note_of_the_full_length(api_client_as):
    response = ResponseFactory(score=2)
    note = "n" * FOLLOW_UP_NOTE_MAX_LENGTH

    api = api_client_as("analyst").patch(f"/api/responses/{response.pk}/", {"follow_up_note": note}, format="json")

    assert api.status_code == 200, api.json()
    assert Response.objects.get(pk=response.pk).follow_up_note == note


def test_follow_up_form_counts_line_breaks_as_the_browser_does(client_as):
    response = ResponseFactory(score=2)
    note = "abc\r\n" * 1100  # 4,400 characters in the box (maxlength 5000), 5,500 posted

    page = _follow_up_page(client_as("analyst"), response, note)

    assert page.status_code == 302, "a note that fitted the box was refused as too long"
    assert Response.objects.get(pk=response.pk).follow_up_note == ("abc\n" * 1100).strip()  # stored with LF


def test_follow_up_textarea_tells_the_browser_the_limit(client_as):
    response = ResponseFactory(score=2)

    page = client_as("analyst").get(reverse("surveys:response-detail", args=[response.pk]))

    assert f'maxlength="{FOLLOW_UP_NOTE_MAX_LENGTH}"' in page.content.decode()
