"""A segment named by a report's command or API call must exist somewhere.

A typo ("smb" for "SMB") would otherwise read as a real report of a segment with no revenue and no
answers. The dashboards offer a list of segments instead, and snapshots keep working for a segment
that has since emptied: the check is for what people type.
"""

from accounting.models import Customer
from surveys.models import Invitation, Response


def unknown_segment_message(segment: str) -> str:
    return f"No customer is in segment {segment!r} (segments match exactly, case included)."


def earned_growth_segment_known(segment: str) -> bool:
    """Earned growth groups customers by their segment now."""
    return Customer.objects.filter(segment=segment).exists()


def nps_segment_known(segment: str) -> bool:
    """NPS reads the segment copied onto invitations and answers: a past segment stays valid."""
    return any(
        model.objects.filter(segment=segment).exists() for model in (Customer, Invitation, Response)
    )
