"""Staff follow-up on a response (SPEC §4): who closed the loop, when, with what note."""

from django.db import transaction
from django.utils import timezone

from accounting.services import one_line_break

from .models import Response

FOLLOW_UP_FIELDS = ["follow_up_note", "followed_up_at", "followed_up_by"]


@transaction.atomic
def response_follow_up(*, response: Response, user, note: str, done: bool = True) -> Response:
    """Mark `response` followed up (or not) with `note`; simple-history keeps the earlier notes.

    A repeat (double click, a colleague's stale page, a retried PATCH) changes nothing, and a new
    note on a done follow-up keeps who closed the loop and when: the history is the audit record.
    """
    # Compare with the row as saved now, locked, not as the caller read it: the first of two
    # concurrent submissions may have just been saved.
    response.refresh_from_db(fields=FOLLOW_UP_FIELDS, from_queryset=Response.objects.select_for_update())
    was_done = response.followed_up_at is not None
    if done == was_done and note == response.follow_up_note:
        return response  # nothing changed: no save, no history row
    response.follow_up_note = note
    # The history row records the staff member, not whoever the middleware last saw.
    response._history_user = user
    if done and was_done:  # only the note changes
        response.save(update_fields=["follow_up_note", "updated_at"])
        return response
    response.followed_up_at = timezone.now() if done else None
    response.followed_up_by = user if done else None
    response.save(update_fields=[*FOLLOW_UP_FIELDS, "updated_at"])
    return response


def follow_up_note_as_sent(note: str, stored: str | None) -> str:
    """The note a form or the API received: the response's own note when the same words came back
    (kept as stored, CRLF included, so that sending it back changes nothing and its length, from
    before the limit, is not judged again), else the new note with its line breaks as LF."""
    note = one_line_break(note)
    return stored if stored is not None and note == one_line_break(stored).strip() else note
