"""API creates and updates of rows with unique fields, safe when the same write comes twice at once.

DRF's UniqueValidator looks before the write: two requests at once (a double click, an integration
retrying a POST that timed out) both find the value free, the second's INSERT waits on the unique
index for the first to commit, then fails with IntegrityError: a 500. Saved in a savepoint here,
the loser validates its data again; the winner's row is committed by then, so the client gets the
400 naming the field that the same request sent a moment later gets.
"""

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import APIException

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE
# Also the staff forms' and the admin's words, when the form checked again still finds nothing taken.
UNIQUE_TAKEN_MEANWHILE = (
    "Another request wrote a conflicting value at the same time: a value that must be unique is already taken."
)


class UniqueConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = f"{UNIQUE_TAKEN_MEANWHILE} Read the current data and try again."
    default_code = "conflict"


def is_unique_violation(exc: IntegrityError) -> bool:
    if getattr(exc.__cause__, "sqlstate", None) == UNIQUE_VIOLATION:
        return True
    return str(exc).startswith("UNIQUE constraint failed")  # SQLite's words


class UniqueWritesMixin:
    """A viewset's perform_create / perform_update through `save_unique`."""

    def perform_create(self, serializer):
        self.save_unique(serializer)

    def perform_update(self, serializer):
        self.save_unique(serializer)

    def save_unique(self, serializer):
        try:
            with transaction.atomic():  # a savepoint: an outer transaction survives the duplicate
                serializer.save()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            self._validate_again(serializer)
            # Valid even now (the other row since gone, or a constraint no validator checks).
            raise UniqueConflict from exc

    def _validate_again(self, serializer) -> None:
        # Against the stored row: the failed save changed the instance in memory.
        instance = self.get_object() if serializer.instance is not None else None
        again = type(serializer)(
            instance, data=serializer.initial_data, partial=serializer.partial, context=serializer.context
        )
        again.is_valid(raise_exception=True)
