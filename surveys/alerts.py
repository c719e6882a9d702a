"""Detractor alerts (SPEC §4 "Follow-up"): an email to the survey owner and a JSON webhook.

An outbox: the answer's own transaction marks the response `alert_due` (`responses`), and after
commit `alert_enqueue` hands the task to the broker. The task clears `alert_due` once it has
delivered, or given up. If the broker refused the hand-over (down at that moment) or lost the
task, `sweep_detractor_alerts` (beat, every 5 minutes) hands it over again: an alert is never lost
with the broker, and never sent twice while its task is alive (a task retrying with backoff is
left alone for ALERT_REQUEUE_AFTER, longer than its whole retry schedule).

The two channels retry independently: the task retries only the parts that failed transiently, so
a webhook outage never sends the owner a second email. Each part delivered is recorded on the
response at once, so a task run again (after a worker died between the parts, or the same message
delivered twice) sends only what is still missing, and nothing once the alert is done. Each part is
claimed before it is sent (a conditional UPDATE of `alert_claimed_at`), so two runs at the same
moment (the sweeper handing an alert over again while its first message still waits in a busy
queue) send it once: the other run skips that part and leaves the alert to the claim's holder. The
claim is given back once the part is delivered, dropped or failed (a transient failure's retry
claims it again); one a killed worker left expires after PART_CLAIM_EXPIRES_AFTER, and the
sweeper's next hand-over sends that part.
Permanent failures (a 4xx or a redirect from the webhook, a webhook URL refused by the SSRF
guard of `webhook_urls`, an address the SMTP server refuses with a 5xx) are logged and dropped; the
address refused with a 4xx (greylisting, a full mailbox) is a transient error, retried. For an
anonymous survey neither channel carries anything that names the customer, nor the answer's
touchpoint, segment or language.
"""

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import time

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounting.tasks import is_transient

from . import webhook_urls
from .models import Response, ResponseCategory

logger = logging.getLogger(__name__)

PARTS = ("email", "webhook")
DELIVERED_AT = {"email": "alert_emailed_at", "webhook": "alert_posted_at"}
WEBHOOK_TIMEOUT_SECONDS = 10
TIMESTAMP_HEADER = "X-CX-Timestamp"
SIGNATURE_HEADER = "X-CX-Signature"
MAX_RETRIES = 6
MAX_BACKOFF_SECONDS = 60 * 60
# Longer than the task's whole retry schedule (30 s doubling six times: ~32 minutes).
ALERT_REQUEUE_AFTER = dt.timedelta(hours=2)
# Far longer than one part takes (the webhook's and SMTP's timeouts), shorter than ALERT_REQUEUE_AFTER.
PART_CLAIM_EXPIRES_AFTER = dt.timedelta(minutes=15)
SWEEP_BATCH = 500


class TransientError(Exception):
    """Worth trying again later: the other side was down, slow or overloaded."""


@shared_task(bind=True, max_retries=MAX_RETRIES)
def send_detractor_alert(self, response_id: int, parts: list[str] | None = None) -> list[str]:
    """Alert about one detractor response; returns the parts that were delivered."""
    response = (
        Response.objects.select_related("survey__owner", "customer", "invitation")
        .filter(pk=response_id)
        .first()
    )
    if response is None or response.category != ResponseCategory.DETRACTOR:
        _alert_done(response_id)
        return []  # deleted, or edited out of the detractor range before we ran
    if not response.alert_due:
        return []  # delivered or given up already: this is the same message delivered again
    delivered, failed, held_elsewhere = [], [], []
    for part in parts or PARTS:
        if getattr(response, DELIVERED_AT[part]) is not None:
            continue  # delivered by an earlier run that died before finishing the alert
        claimed_at = _part_claimed(response_id, part)
        if claimed_at is None:
            held_elsewhere.append(part)  # another run is sending it (or just did): it finishes the alert
            continue
        sent = False
        try:
            sent = SENDERS[part](response)
        except TransientError as exc:
            logger.warning("Detractor alert %s for response %s failed: %s", part, response_id, exc)
            failed.append(part)
        finally:
            _part_given_back(response_id, part, claimed_at, delivered=sent)
        if sent:
            delivered.append(part)
    if failed:
        # With the parts held elsewhere too: the other run may give its part back failed, and its own
        # retry would not know of ours, so whichever retry ends the alert must have tried both.
        _retry(self, response_id, failed + held_elsewhere)
    if not held_elsewhere:
        _alert_done(response_id)
    return delivered


def _retry(task, response_id: int, failed: list[str]) -> None:
    if task.request.retries >= MAX_RETRIES:
        logger.error("Detractor alert for response %s gave up on %s", response_id, ", ".join(failed))
        return
    countdown = min(30 * 2**task.request.retries, MAX_BACKOFF_SECONDS)
    raise task.retry(args=[response_id], kwargs={"parts": failed}, countdown=countdown)


def _part_claimed(response_id: int, part: str) -> dt.datetime | None:
    """The part is ours to send (the claim's time), or None: delivered, or claimed by another run.

    Every condition on the response row itself: a run that waited for the other's row lock
    re-checks them on the row as the other left it (PostgreSQL), so only one claim succeeds.
    """
    now = timezone.now()
    free = Q(alert_claimed_at__isnull=True) | Q(alert_claimed_at__lt=now - PART_CLAIM_EXPIRES_AFTER)
    claimed = Response.objects.filter(free, pk=response_id, alert_due=True, **{DELIVERED_AT[part]: None}).update(
        alert_claimed_at=now
    )
    return now if claimed else None


def _part_given_back(response_id: int, part: str, claimed_at: dt.datetime, *, delivered: bool) -> None:
    """The claim given back, and the part recorded if delivered: at once (no surrounding
    transaction), before the next part is tried. Given back on any error too, a worker's own
    shutdown included: the part is then sent again, as when a worker died before recording it."""
    fields = {"alert_claimed_at": None} | ({DELIVERED_AT[part]: timezone.now()} if delivered else {})
    Response.objects.filter(pk=response_id, alert_claimed_at=claimed_at).update(**fields)


def _alert_done(response_id: int) -> None:
    Response.objects.filter(pk=response_id, alert_due=True).update(alert_due=False)


def alert_enqueue(response_id: int) -> None:
    """Hand one due alert to the broker. If it refuses, the sweeper hands it over later: the
    customer's committed answer never turns into an error page because of the broker."""
    try:
        send_detractor_alert.delay(response_id)
    except Exception:  # a broker outage; in eager (demo) mode, whatever the task raised
        logger.warning("Detractor alert for response %s not enqueued; the sweeper will retry", response_id,
                       exc_info=True)
        Response.objects.filter(pk=response_id, alert_due=True).update(alert_enqueued_at=None)


@shared_task(acks_late=True, ignore_result=True)
def sweep_detractor_alerts() -> int:
    """Hand over again the due alerts the broker refused or lost; returns how many."""
    now = timezone.now()
    with transaction.atomic():
        # Claimed under row locks (SKIP LOCKED), so two sweeps never enqueue one alert twice.
        due = list(
            Response.objects.select_for_update(skip_locked=True)
            .filter(alert_due=True)
            .filter(Q(alert_enqueued_at__isnull=True) | Q(alert_enqueued_at__lt=now - ALERT_REQUEUE_AFTER))
            .order_by("pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        Response.objects.filter(pk__in=due).update(alert_enqueued_at=now)
    for response_id in due:
        alert_enqueue(response_id)
    return len(due)


def response_url(response: Response) -> str:
    try:
        path = reverse("surveys:response-detail", args=[response.pk])
    except NoReverseMatch:  # the staff detail page is not there yet: the list will do
        path = "/responses/"
    return settings.SITE_URL + path


def alert_context(response: Response) -> dict:
    """What an alert shows. An anonymous survey's answer names no customer, nor carries what
    would point to one: its touchpoint (listed with each invitation's customer), its segment
    (which may hold a single customer) or its language."""
    anonymous = response.survey.anonymous
    return {
        "response": response,
        "survey": response.survey,
        "customer": None if anonymous else response.customer,
        "reference": "" if anonymous else response.invitation.reference,
        "touchpoint": None if anonymous else response.touchpoint,
        "segment": None if anonymous else response.segment,
        "language": None if anonymous else response.language,
        "url": response_url(response),
    }


# The alert carries what the staff response page shows: only an owner who may open that page gets it.
ALERT_READER_PERMISSION = "surveys.view_response"


def alert_recipient(owner) -> str:
    """The owner's address, or "" for no email: none set, deactivated, or not allowed to see answers."""
    if owner is None or not owner.email:
        return ""
    if not owner.is_active or not owner.has_perm(ALERT_READER_PERMISSION):
        logger.warning("Detractor alert not emailed: owner %s is deactivated or may not see responses", owner.pk)
        return ""
    return owner.email


def _send_email(response: Response) -> bool:
    address = alert_recipient(response.survey.owner)
    if not address:
        return False
    context = alert_context(response)
    subject = " ".join(render_to_string("emails/detractor_alert.subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/detractor_alert.txt", context),
        to=[address],
        # RFC 3834: no out-of-office replies to an automatic message.
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    message.attach_alternative(render_to_string("emails/detractor_alert.html", context), "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        # A 4xx (greylisting, a full mailbox, 421) is temporary by RFC 5321: only a 5xx drops the alert.
        if is_transient(exc):
            raise TransientError(str(exc)) from exc
        logger.error("Detractor alert for response %s: the owner's address was refused: %s", response.pk, exc)
        return False
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, 4xx replies, timeouts
        raise TransientError(str(exc)) from exc
    return True


def webhook_payload(response: Response) -> dict:
    context = alert_context(response)
    payload = {
        "event": "nps.detractor",
        "response_id": response.pk,
        "survey": {"id": response.survey_id, "name": response.survey.name, "kind": response.survey.kind},
        "score": response.score,
        "category": response.category,
        "reason": response.reason,
        "suggestion": response.suggestion,
        "answered_at": response.answered_at.isoformat(),
        "touchpoint": context["touchpoint"],
        "segment": context["segment"],
        "language": context["language"],
        "url": context["url"],
    }
    if not response.survey.anonymous:
        customer = response.customer
        payload["customer"] = {
            "id": customer.pk,
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
        }
        payload["reference"] = response.invitation.reference
    return payload


def webhook_headers(body: bytes, *, now: float | None = None) -> dict:
    """With ALERT_WEBHOOK_SECRET set, an HMAC-SHA256 of "<timestamp>.<body>" under it: the receiver
    recomputes it to know the alert came from this platform, and refuses old timestamps (a replay)."""
    headers = {"Content-Type": "application/json", "User-Agent": "cx-platform-alerts/1"}
    if secret := settings.ALERT_WEBHOOK_SECRET:
        timestamp = str(int(time.time() if now is None else now))
        signed = timestamp.encode() + b"." + body
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return headers


def _post_webhook(response: Response) -> bool:
    url = response.survey.alert_webhook_url
    if not url:
        return False
    try:
        body = json.dumps(webhook_payload(response)).encode()
        status = webhook_urls.post(url, body, headers=webhook_headers(body), timeout=WEBHOOK_TIMEOUT_SECONDS)
    except webhook_urls.RefusedURL as exc:  # SSRF guard: permanent, never retried
        logger.error("Survey %s: webhook URL refused, not posting: %s", response.survey_id, exc)
        return False
    except (OSError, http.client.HTTPException) as exc:  # look-up failed, refused, unreachable, timed out
        raise TransientError(str(exc) or type(exc).__name__) from exc
    if 200 <= status < 300:
        return True
    if status == 429 or status >= 500:
        raise TransientError(f"HTTP {status}")
    # 3xx included: a redirect is not followed (it could lead to a private address).
    logger.error("Survey %s: webhook refused the alert with HTTP %s", response.survey_id, status)
    return False


SENDERS = {"email": _send_email, "webhook": _post_webhook}
