"""A segment named by an NPS command or API call must exist somewhere (see
accounting.selectors.customer_segment_exists; earned growth reads customers' segments alone).

The dashboards offer a list of segments instead, and snapshots keep working for a segment that has
since emptied: the check is for what people type.
"""

from accounting.selectors import customer_segment_exists
from surveys.models import Invitation, Response


def nps_segment_known(segment: str) -> bool:
    """NPS reads the segment copied onto invitations and answers: a past segment stays valid."""
    return customer_segment_exists(segment) or any(
        model.objects.filter(segment=segment).exists() for model in (Invitation, Response)
    )
