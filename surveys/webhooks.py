"""Bounces and complaints reported by the email provider (django-anymail's tracking signal).

A bounced, rejected or complained event marks the invitation BOUNCED and adds the address to
SuppressedAddress, so no later launch emails it ("bounced before"). The invitation is found by the
message id we stored at send time, else by the invitation id Anymail carries in the metadata; the
address is suppressed even when no invitation matches (a reminder, or a message of another tool).
"""

import logging

from anymail.signals import tracking
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import AddressEventKind, Invitation, InvitationState, SuppressedAddress

logger = logging.getLogger(__name__)

HANDLED = {"bounced": AddressEventKind.BOUNCED, "rejected": AddressEventKind.BOUNCED,
           "complained": AddressEventKind.COMPLAINED}
# A bounce can overtake our own "sent" update; a response or a suppression is never overwritten.
BOUNCEABLE_STATES = (InvitationState.SENDING, InvitationState.SENT, InvitationState.EXPIRED)


def connect() -> None:
    tracking.connect(handle_tracking_event, dispatch_uid="surveys.webhooks.bounces")


def _invitation_filter(event) -> dict | None:
    if event.message_id and Invitation.objects.filter(message_id=event.message_id).exists():
        return {"message_id": event.message_id}
    invitation_id = (event.metadata or {}).get("invitation_id")
    if str(invitation_id or "").isdigit():
        return {"pk": int(invitation_id)}
    return None


def address_suppress(*, email: str, kind: str, detail: str = "") -> None:
    if not email:
        return
    try:
        with transaction.atomic():
            SuppressedAddress.objects.get_or_create(
                email=email.strip().lower(), defaults={"kind": kind, "detail": detail[:2000]}
            )
    except IntegrityError:
        pass  # a concurrent webhook for the same address stored it first


def handle_tracking_event(sender, event, esp_name, **kwargs) -> None:
    kind = HANDLED.get(event.event_type)
    if kind is None:
        return
    detail = f"{esp_name}: {event.event_type} {event.description or event.mta_response or ''}".strip()
    found = _invitation_filter(event)
    marked = 0
    if found:
        marked = Invitation.objects.filter(state__in=BOUNCEABLE_STATES, **found).update(
            state=InvitationState.BOUNCED, bounced_at=event.timestamp or timezone.now(), last_error=detail[:2000]
        )
    address_suppress(email=event.recipient or "", kind=kind, detail=detail)
    logger.info("Email %s event from %s: %s invitation(s) marked bounced", event.event_type, esp_name, marked)
