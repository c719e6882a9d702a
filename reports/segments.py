"""A segment named by an NPS command or API call must exist somewhere (see
accounting.selectors.customer_segment_exists; earned growth reads customers' segments alone).

The dashboards offer a list of segments instead, and snapshots keep working for a segment that has
since emptied: the check is for what people type.
"""

from accounting.selectors import customer_segment_exists, customer_segments
from surveys.models import Invitation, Response


def nps_segment_known(segment: str) -> bool:
    """NPS reads the segment copied onto invitations and answers: a past segment stays valid."""
    return customer_segment_exists(segment) or any(
        model.objects.filter(segment=segment).exists() for model in (Invitation, Response)
    )


def nps_segments(requested: str = "") -> list[str]:
    """The NPS dashboard's segment choices: customers' current segments, plus the one asked for when
    it is a past segment nps_segment_known accepts (a link from the page's "By segment" table). Not
    every segment ever copied onto invitations and answers: listing those would read both tables
    in full on each page view."""
    segments = customer_segments()
    if requested and requested not in segments and nps_segment_known(requested):
        segments = sorted([*segments, requested])
    return segments
