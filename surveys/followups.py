"""Staff follow-up on a response (SPEC §4): who closed the loop, when, with what note."""

from django.db import transaction
from django.utils import timezone

from .models import Response


@transaction.atomic
def response_follow_up(*, response: Response, user, note: str, done: bool = True) -> Response:
    """Mark `response` followed up (or not) with `note`; simple-history keeps the earlier notes."""
    response.follow_up_note = note
    response.followed_up_at = timezone.now() if done else None
    response.followed_up_by = user if done else None
    # The history row records the staff member, not whoever the middleware last saw.
    response._history_user = user
    response.save(update_fields=["follow_up_note", "followed_up_at", "followed_up_by", "updated_at"])
    return response
