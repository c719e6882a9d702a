"""A date and time typed on the company's clock (TIME_ZONE), read alike by the staff form, the
admin and the API (a survey's next launch): a time the autumn change repeats is its first
occurrence, one the spring change skips is refused, and one whose moment lies past the calendar a
datetime holds (years 1 to 9999, in UTC too) is refused rather than failing when stored."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

OUT_OF_RANGE = (
    "This date is out of range: it must fall between the years 1 and 9999, in UTC too. Choose another date."
)


def read_on_company_clock(parse):
    """`parse()`: a form field's reading of a date and time typed on the company's clock. Django
    refuses one the autumn change repeats as ambiguous: it is read as its first occurrence
    (fold=0), the moment days_later stores there, so a next launch in that hour is shown and
    posted back unchanged. One the spring change skips is refused, saying so: nobody's clock
    shows it, and the person typing it says which time they mean (only the schedule, with nobody
    to ask, moves such a launch an hour later)."""
    try:
        value = parse()
    except ValidationError as error:
        if error.code != "ambiguous_timezone":
            raise
        with timezone.override(dt.UTC):  # read again on a clock with no gap or repeat: as typed
            typed = parse().replace(tzinfo=None)
        return on_company_clock(typed)
    return within_calendar(value)


def on_company_clock(typed: dt.datetime) -> dt.datetime:
    """`typed`, a naive date and time, as the moment the company's clock shows it: the first of a
    repeated hour; a skipped time, or one past the calendar's edge, refused (ValidationError)."""
    zone = timezone.get_current_timezone()
    first = timezone.make_aware(typed, zone)  # fold=0
    try:  # through UTC: astimezone to its own zone would hand the same wall time back
        exists = first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == typed
    except OverflowError:  # within hours of the first or last day a datetime holds
        raise _out_of_range() from None
    if not exists:
        raise ValidationError(
            "%(datetime)s does not exist in %(zone)s: the clocks skip it. Choose another time.",
            code="nonexistent_time",
            params={"datetime": typed.strftime("%Y-%m-%d %H:%M"), "zone": zone},
        )
    return first


def within_calendar(value: dt.datetime | None) -> dt.datetime | None:
    """`value` (aware, or None for an empty field), refused if its moment in UTC, as stored, lies
    outside years 1 to 9999: saving it would raise OverflowError (a 500)."""
    if value is None:
        return None
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        raise _out_of_range() from None
    return value


def _out_of_range() -> ValidationError:
    return ValidationError(OUT_OF_RANGE, code="out_of_range")
