"""The rules a survey's audience and reminder settings follow, each said beside its field.

The database holds them too (Survey's check constraints), but a constraint names no field: the
admin and the API answered "Constraint “survey_segment_audience_has_segment” is violated." above
the form or under `__all__`. The staff form, the admin and the API check these first, alike."""

from collections.abc import Mapping

from .models import REMINDER_AFTER_EXPIRY, AudienceKind

SEGMENT_MISSING = "Name the segment this survey goes to."
PERCENT_MISSING = "Give the percentage of the audience to sample."
SEGMENT_ELSEWHERE = "Only a segment audience or a sample names a segment. Clear it."
PERCENT_ELSEWHERE = "Only a sample audience takes a percentage. Clear it."
LIST_NOT_RELAUNCHED = "A hand-picked list is invited through the API, not relaunched."

# The settings survey_rule_errors reads.
RULE_FIELDS = ("audience", "audience_segment", "sample_percent", "repeat_days", "reminder_days", "expiry_days")


def survey_rule_errors(values: Mapping) -> list[tuple[str, str]]:
    """(field, why) for each rule the settings `values` (RULE_FIELDS; a missing or None value is
    unset) break: the audience's own fields (a list's schedule too), then the reminder's day."""
    return [*_audience_errors(values), *_reminder_errors(values)]


def _audience_errors(values: Mapping) -> list[tuple[str, str]]:
    audience, segment, percent = values.get("audience"), values.get("audience_segment"), values.get("sample_percent")
    errors = []
    if audience == AudienceKind.SEGMENT and not segment:
        errors.append(("audience_segment", SEGMENT_MISSING))
    # What the launch would ignore is refused instead: a sample may be drawn from one segment.
    if audience not in (AudienceKind.SEGMENT, AudienceKind.SAMPLE) and segment:
        errors.append(("audience_segment", SEGMENT_ELSEWHERE))
    if audience == AudienceKind.SAMPLE and percent is None:
        errors.append(("sample_percent", PERCENT_MISSING))
    if audience != AudienceKind.SAMPLE and percent is not None:
        errors.append(("sample_percent", PERCENT_ELSEWHERE))
    # A list is invited one request at a time (POST .../invite/): a schedule would have nobody to send to.
    if audience == AudienceKind.LIST and values.get("repeat_days") is not None:
        errors.append(("repeat_days", LIST_NOT_RELAUNCHED))
    return errors


def _reminder_errors(values: Mapping) -> list[tuple[str, str]]:
    reminder, expiry = values.get("reminder_days"), values.get("expiry_days")
    if reminder is not None and expiry is not None and reminder >= expiry:
        return [("reminder_days", REMINDER_AFTER_EXPIRY)]
    return []
