"""A response's follow-up note: one limit (FOLLOW_UP_NOTE_MAX_LENGTH) on the staff page and the API,
its line breaks counted as the page's textarea counts them (and stored as LF). The note a response
holds, sent back unchanged, is accepted whatever its length (stored before the limit) and changes
nothing, as a reason text sent back unchanged."""

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.forms import FollowUpForm
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


# --- A line break counts once through the API too, and is stored as LF -------------------------


def test_api_counts_a_line_break_in_the_note_once_as_the_page_does(api_client_as):
    response = ResponseFactory(score=2)
    note = "n" * 2500 + "\r\n" + "n" * 2499  # 5,000 characters with the line break counted once

    api = api_client_as("analyst").patch(f"/api/responses/{response.pk}/", {"follow_up_note": note}, format="json")

    assert api.status_code == 200, api.json()
    assert Response.objects.get(pk=response.pk).follow_up_note == "n" * 2500 + "\n" + "n" * 2499


def test_api_echo_with_lf_of_a_note_stored_with_crlf_changes_nothing(api_client_as, user_with_role):
    """A note stored with CRLF (through the API, before) read and sent back by a client that writes
    LF is the same note: no new history row, no new date."""
    response = ResponseFactory(
        score=2, follow_up_note="Called.\r\nRefund sent.", followed_up_at=timezone.now(),
        followed_up_by=user_with_role("analyst"),
    )
    versions, updated_at = response.history.count(), Response.objects.get(pk=response.pk).updated_at

    api = api_client_as("analyst").patch(
        f"/api/responses/{response.pk}/", {"follow_up_note": "Called.\nRefund sent."}, format="json"
    )

    assert api.status_code == 200, api.json()
    after = Response.objects.get(pk=response.pk)
    assert (after.history.count(), after.updated_at) == (versions, updated_at)


# --- A note stored before the limit may come back unchanged -------------------------------------

LEGACY_NOTE = "n" * (FOLLOW_UP_NOTE_MAX_LENGTH + 500)  # stored through the API before it had a limit


@pytest.fixture
def legacy_followed_up(user_with_role):
    return ResponseFactory(
        score=2, follow_up_note=LEGACY_NOTE, followed_up_at=timezone.now(), followed_up_by=user_with_role("analyst")
    )


def test_api_reopens_a_response_with_its_long_stored_note_echoed(api_client_as, legacy_followed_up):
    api = api_client_as("analyst").patch(
        f"/api/responses/{legacy_followed_up.pk}/", {"follow_up_note": LEGACY_NOTE, "followed_up": False},
        format="json",
    )

    assert api.status_code == 200, api.json()
    after = Response.objects.get(pk=legacy_followed_up.pk)
    assert (after.followed_up_at, after.follow_up_note) == (None, LEGACY_NOTE)


def test_api_refuses_a_changed_note_over_the_limit_on_a_response_holding_a_long_one(api_client_as,
                                                                                     legacy_followed_up):
    api = api_client_as("analyst").patch(
        f"/api/responses/{legacy_followed_up.pk}/", {"follow_up_note": LEGACY_NOTE + " more"}, format="json"
    )

    assert api.status_code == 400
    assert "follow_up_note" in api.json()
    assert Response.objects.get(pk=legacy_followed_up.pk).follow_up_note == LEGACY_NOTE


def test_follow_up_form_takes_the_long_stored_note_back_unchanged():
    form = FollowUpForm({"note": LEGACY_NOTE, "done": ""}, stored_note=LEGACY_NOTE)

    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"note": LEGACY_NOTE, "done": False}


def test_follow_up_form_keeps_a_note_stored_with_crlf_when_posted_back_as_the_browser_does():
    stored = "Called.\r\nRefund sent."

    form = FollowUpForm({"note": stored, "done": "on"}, stored_note=stored)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["note"] == stored  # the same note: the follow-up service saves nothing


def test_follow_up_form_refuses_a_changed_note_over_the_limit_whatever_is_stored():
    form = FollowUpForm({"note": LEGACY_NOTE + " more", "done": "on"}, stored_note=LEGACY_NOTE)

    assert not form.is_valid()
    assert "note" in form.errors


def test_follow_up_page_reopens_a_response_with_its_long_stored_note_posted_back(client_as, legacy_followed_up):
    page = client_as("analyst").post(
        reverse("surveys:response-follow-up", args=[legacy_followed_up.pk]), {"note": LEGACY_NOTE}
    )

    assert page.status_code == 302, "the note the page showed was refused as too long"
    assert Response.objects.get(pk=legacy_followed_up.pk).followed_up_at is None
