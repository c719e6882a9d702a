"""Bounces and complaints reported by the email provider (django-anymail's tracking signal).

A bounced or rejected event marks the invitation BOUNCED (the email did not arrive); a complaint
too. The address goes on SuppressedAddress, so no later launch, reminder or reason email goes to it
("bounced before"), on a complaint and on a permanent failure only (`bounce_permanent`): a full
mailbox must not cost the customer every later survey. The invitation is found by the message id
we stored at send time, else by the invitation id Anymail carries in the metadata; the address is
suppressed even when no invitation matches (a reminder, or a message of another tool). For an
anonymous survey only a bounce of the first email (no reminder sent yet) marks the invitation: a
complaint, or any event once the reminder went (to non-responders only), would set apart the
unanswered invitations its list must show as "delivered" like the answered ones.
"""

import logging
import re
from collections.abc import Mapping

from anymail.signals import tracking
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from .models import AddressEventKind, Invitation, InvitationState, SuppressedAddress, address_forms

logger = logging.getLogger(__name__)

HANDLED = {"bounced": AddressEventKind.BOUNCED, "rejected": AddressEventKind.BOUNCED,
           "complained": AddressEventKind.COMPLAINED}
# A bounce can overtake our own "sent" update; a response or a suppression is never overwritten.
BOUNCEABLE_STATES = (InvitationState.SENDING, InvitationState.SENT, InvitationState.EXPIRED)

# Providers whose "bounced" includes temporary failures, and where their raw event says which it
# was: (the path to that field in anymail's esp_event, the values that mean permanent).
PERMANENT_BY_PROVIDER: dict[str, tuple[tuple[str, ...], set]] = {
    # Type: HardBounce; BadEmailAddress, ManuallyDeactivated (Postmark sends to it no more).
    # SoftBounce, Transient, DnsError, Blocked, DMARCPolicy... are not about the address.
    "Postmark": (("Type",), {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}),
    "Amazon SES": (("bounce", "bounceType"), {"Permanent"}),  # not Transient, Undetermined
    "Resend": (("data", "bounce", "type"), {"Permanent"}),  # Resend reports SES's bounce types
    "SparkPost": (("msys", "message_event", "bounce_class"), {"10", "30", "90"}),  # its "Hard" classes
    "Mandrill": (("event",), {"hard_bounce"}),  # a "reject" may be its soft-bounce list
    "Brevo": (("event",), {"hard_bounce", "invalid_email"}),
    "SendinBlue": (("event",), {"hard_bounce", "invalid_email"}),
    "MailerSend": (("data", "type"), {"hard_bounced"}),
    "Mailjet": (("hard_bounce",), {True}),
    "SendGrid": (("type",), {"bounce"}),  # a bounce's type; "blocked", "expired" are temporary
}
# anymail's reject_reason for a provider that gave up retrying, a policy of the provider or the
# receiver (not the address), or the provider's own unsubscribe list.
NOT_ABOUT_THE_ADDRESS = {"timed_out", "blocked", "unsubscribed"}
# A reply code (550) or an enhanced status code (5.1.1), not part of a longer number or an IP address.
SMTP_FAILURE = re.compile(r"(?<![\d.])([45])(?:\d\d|\.\d{1,3}\.\d{1,3})(?![\d.])")


def connect() -> None:
    tracking.connect(handle_tracking_event, dispatch_uid="surveys.webhooks.bounces")


def _invitation_filter(event) -> dict | None:
    if event.message_id and Invitation.objects.filter(message_id=event.message_id).exists():
        return {"message_id": event.message_id}
    invitation_id = str((event.metadata or {}).get("invitation_id") or "")
    if invitation_id.isascii() and invitation_id.isdigit():  # "²".isdigit(), but int("²") raises
        return {"pk": int(invitation_id)}
    return None


def _field(data, path: tuple):
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _provider_says(esp_name: str, esp_event) -> bool | None:
    """Permanent or not by the provider's own field; None when the event has no such field."""
    if esp_name not in PERMANENT_BY_PROVIDER:
        return None
    path, permanent = PERMANENT_BY_PROVIDER[esp_name]
    value = _field(esp_event, path)
    if not isinstance(value, str | bool):
        return None
    return value in permanent


def _smtp_class(event) -> str | None:
    for text in (event.mta_response, event.description):
        found = SMTP_FAILURE.search(text or "")
        if found:
            return found.group(1)
    return None


def bounce_permanent(event, esp_name: str) -> bool:
    """Whether a bounced or rejected event says the address itself is dead, so it is suppressed.

    Anymail reports some temporary failures as "bounced" (Postmark's SoftBounce, SES's Transient,
    SparkPost's soft classes...). Where the provider's raw event says hard or soft, that decides
    (PERMANENT_BY_PROVIDER). Otherwise (another provider, or an event without that field) anymail's
    normalised fields do, as anymail reports the failures it knows are temporary as "deferred":
    permanent when reject_reason is "invalid"; else by the SMTP reply in the MTA response or the
    description (5xx or 5.x.x: permanent; 4xx or 4.x.x: temporary, as our sender treats it); else
    permanent unless reject_reason says the provider gave up retrying ("timed_out"), a policy
    refused it ("blocked") or it is the provider's unsubscribe list ("unsubscribed").
    """
    said = _provider_says(esp_name, event.esp_event)
    if said is not None:
        return said
    if event.reject_reason == "invalid":
        return True
    smtp_class = _smtp_class(event)
    if smtp_class is not None:
        return smtp_class == "5"
    return event.reject_reason not in NOT_ABOUT_THE_ADDRESS


def error_on_row(text: str) -> Case:
    """`last_error` as a row takes it in its UPDATE: the text (a server's reply or a provider's
    detail, which may quote the address), or, on a row whose address was erased while the email was
    in flight (accounting.erasure), the reason staff read, without the address. Decided on the row
    itself: no query more, and an UPDATE that waited for the erasure's lock reads the row as it is now."""
    from .failures import failure_reason  # it imports the sender, which imports this module

    text = text[:2000]
    return Case(When(email="", then=Value(failure_reason(text))), default=Value(text))


def address_suppress(*, email: str, kind: str, detail: str = "") -> None:
    """List the address in every form (jo@xn--bcher-kva.de as bounced, jo@bücher.de as typed), one
    row each, so every check looks it up by one equality; a form listed already keeps its entry."""
    forms = address_forms(email)
    if forms[0]:
        SuppressedAddress.objects.forms_add(forms, kind=kind, detail=detail[:2000])


def handle_tracking_event(sender, event, esp_name, **kwargs) -> None:
    kind = HANDLED.get(event.event_type)
    if kind is None:
        return
    detail = f"{esp_name}: {event.event_type} {event.description or event.mta_response or ''}".strip()
    found = _invitation_filter(event)
    marked = 0
    if found:
        # Anonymous survey: an event after delivery (a complaint; anything once the reminder went)
        # would mark only non-responders, so it leaves the invitation as it is (the address is
        # still suppressed below). A bounce of the first email tells nothing: it never arrived.
        markable = Q(survey__anonymous=False)
        if kind != AddressEventKind.COMPLAINED:
            markable |= Q(reminder_sent_at__isnull=True)
        now = timezone.now()
        marked = Invitation.objects.filter(markable, state__in=BOUNCEABLE_STATES, **found).update(
            state=InvitationState.BOUNCED, bounced_at=event.timestamp or now, last_error=error_on_row(detail),
            updated_at=now,  # the moment of this write: the event's own may be older
        )
    suppressed = (kind == AddressEventKind.COMPLAINED or bounce_permanent(event, esp_name)) and not (
        # A late event of an erased customer's email (accounting.erasure): it is opted out for
        # good, and its address must not come back on the list.
        found and Invitation.objects.filter(customer__erased_at__isnull=False, **found).exists()
    )
    if suppressed:
        address_suppress(email=event.recipient or "", kind=kind, detail=detail)
    logger.info(
        "Email %s event from %s: %s invitation(s) marked bounced, address %s",
        event.event_type, esp_name, marked,
        "suppressed" if suppressed else "not suppressed (a temporary failure, or an erased customer's)",
    )
