"""Background work of the accounting app: the emailed "why did you choose us?" requests, and the
sweeper of imports a dead process left running.

Tasks are thin: they take ids, re-fetch, check the row still needs the work, then act.

Sending is at most once per request. The task claims the row with a conditional UPDATE on
`sent_at IS NULL` (and on its token still being the request's) before it talks to SMTP, so a
redelivered or duplicated task finds the row taken and sends nothing. A failed send gives the
claim back before retrying. If a worker dies between the claim and the SMTP server accepting the
message, that one email is lost rather than doubled: the token exists only in the task message,
so the way out is a new request (a new token).

A request left unsent (its retries ran out, the error was permanent, or the broker was down when it
was queued) is not lost: the daily run sends it again under a new token (`reason_request_resend`),
until it expires. A message still carrying the old token finds it replaced and sends nothing.
"""

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .models import Customer, ReasonRequest
from .services import (
    address_suppressed,
    address_suppressed_expression,
    hash_token,
    import_batches_fail_stale,
    reason_request_create,
    reason_request_resend,
    reason_task_argsrepr,
)

logger = logging.getLogger(__name__)

MAX_SEND_RETRIES = 5
RETRY_BASE_SECONDS = 60  # 1, 2, 4, 8, 16 minutes
# A request this old and still unsent has no task left to send it (the retries above span 31
# minutes); a younger one may still be queued or waiting for a retry.
RESEND_AFTER = timedelta(hours=2)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the server or network may well accept the same message later.

    SMTP replies in 4xx are temporary by definition (RFC 5321); 5xx, refused senders and
    authentication failures will fail the same way again. A bare OSError (refused connection,
    timeout, reset) is a network problem.
    """
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPException):
        return False
    return isinstance(exc, OSError)


def reason_request_email(request: ReasonRequest, token: str) -> EmailMultiAlternatives:
    """The multipart (text + HTML) email, rendered in the customer's language."""
    customer = request.customer
    with translation.override(customer.language):
        context = {
            "customer_name": customer.name,
            "company_name": settings.COMPANY_NAME,
            "url": settings.SITE_URL + reverse("reason-answer", args=[token]),
            "last_day": request.last_day,  # the link works through it (it expires at the midnight after)
        }
        subject = render_to_string("emails/reason_request.subject.txt", context)
        text = render_to_string("emails/reason_request.txt", context)
        html = render_to_string("emails/reason_request.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header: one line
        body=text,
        to=[customer.email],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    message.attach_alternative(html, "text/html")
    return message


def _skip_reason(request: ReasonRequest | None, token: str) -> str | None:
    if request is None:
        return "gone"
    if request.answered_at is not None:
        return "answered"
    if request.sent_at is not None:
        return "already sent"
    if request.token_hash != hash_token(token):
        return "superseded"  # the daily run gave the request a new token and sends that one
    if request.is_expired:
        return "expired"
    if not request.customer.email:
        return "no email"
    if request.customer.survey_opt_out:
        return "opted out"
    if address_suppressed(request.customer.email):
        return "address suppressed"  # bounced or complained since the link was made
    return None


# acks_late is safe because the claim makes the task idempotent: a message redelivered after a
# worker died before the claim sends the email; one redelivered after the claim sends nothing.
@shared_task(
    bind=True,
    max_retries=MAX_SEND_RETRIES,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def send_reason_request(self, request_id: int, token: str) -> str:
    """Email one reason request, at most once. Never log `token`: it opens the answer page."""
    request = ReasonRequest.objects.select_related("customer").filter(pk=request_id).first()
    skip = _skip_reason(request, token)
    if skip:
        logger.info("Reason request %s not sent: %s", request_id, skip)
        return f"skipped: {skip}"
    claimed_at = timezone.now()
    claimed = ReasonRequest.objects.filter(
        pk=request_id, token_hash=request.token_hash, sent_at__isnull=True, answered_at__isnull=True
    ).update(sent_at=claimed_at)
    if not claimed:
        logger.info("Reason request %s not sent: another worker got there first", request_id)
        return "skipped: claimed"
    try:
        reason_request_email(request, token).send()
    except Exception as exc:
        # Give the claim back, so a retry (or a person) can send it.
        ReasonRequest.objects.filter(pk=request_id, sent_at=claimed_at).update(sent_at=None)
        if not is_transient(exc) or self.request.retries >= self.max_retries:
            logger.error("Reason request %s failed, left for the next daily run: %r", request_id, exc)
            raise
        countdown = RETRY_BASE_SECONDS * 2**self.request.retries
        logger.warning(
            "Reason request %s: transient error %r, retry %s/%s in %ss",
            request_id,
            exc,
            self.request.retries + 1,
            MAX_SEND_RETRIES,
            countdown,
        )
        # Celery builds the retry's message from the request, without the first one's argsrepr:
        # given again, or the worker would log repr(args), token included, when it arrives.
        raise self.retry(exc=exc, countdown=countdown, argsrepr=reason_task_argsrepr(request_id)) from exc
    logger.info("Reason request %s sent", request_id)
    return "sent"


def customers_to_ask(*, days: int):
    """New customers (acquired in the last `days` days) who can be asked and never were."""
    today = timezone.localdate()
    return (
        Customer.objects.filter(
            acquired_on__gte=today - timedelta(days=days),
            acquired_on__lte=today,
            reason__isnull=True,
            survey_opt_out=False,
            reason_requests__isnull=True,
        )
        .exclude(email="")
        .exclude(address_suppressed_expression("email"))
        .order_by("pk")
    )


def _ask_once(customer_id: int) -> bool:
    """Issue one request unless another run did so meanwhile (the customer row is the lock)."""
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update()
            .filter(pk=customer_id, reason__isnull=True)
            .exclude(email="")
            .first()
        )
        # A separate query after the lock, so it sees what a concurrent run committed.
        if customer is None or ReasonRequest.objects.filter(customer=customer).exists():
            return False
        try:
            reason_request_create(customer=customer)
        except ValidationError as refusal:
            # Opted out or bounced since the run listed the customer: skipped, and the rest of
            # the day's customers still asked.
            logger.info("Not asking customer %s why they chose us: %s", customer.external_id, refusal.messages)
            return False
    return True


def reason_requests_to_resend():
    """Requests never sent that can still be answered: each customer's latest only, and only once
    no task of theirs can still be running (`RESEND_AFTER`). An older unsent one was replaced.

    One the daily run made is dropped once the customer's reason is known some other way (an
    import, staff); one a person asked for is sent as they asked.
    """
    now = timezone.now()
    newer = ReasonRequest.objects.filter(customer=OuterRef("customer"), pk__gt=OuterRef("pk"))
    return (
        ReasonRequest.objects.filter(
            Q(customer__reason__isnull=True) | Q(created_by__isnull=False),
            sent_at__isnull=True,
            answered_at__isnull=True,
            expires_at__gt=now,
            created_at__lte=now - RESEND_AFTER,
            customer__survey_opt_out=False,
        )
        .exclude(customer__email="")
        .exclude(address_suppressed_expression("customer__email"))
        .exclude(Exists(newer))
        .order_by("pk")
    )


@shared_task(acks_late=True, ignore_result=True)
def send_reason_requests_to_new_customers(days: int = 30) -> int:
    """Ask every new customer once why they chose us; returns how many were asked.

    First it sends again the requests an earlier run (or a person) issued but that never went
    out. Safe to run daily or twice at once: a customer with any request, or a reason, is not
    asked again, and a request is resent only by the run that gave it its new token.
    """
    resent = sum(reason_request_resend(request=request) for request in reason_requests_to_resend())
    if resent:
        logger.info("Sent again %s reason request(s) that never went out", resent)
    ids = list(customers_to_ask(days=days).values_list("pk", flat=True))
    asked = sum(_ask_once(pk) for pk in ids)
    logger.info("Asked %s of %s new customers why they chose us", asked, len(ids))
    return asked


@shared_task(ignore_result=True)
def fail_stale_imports() -> int:
    """Hourly: mark failed the imports a killed process left running (IMPORT_STALE_HOURS after
    their start); returns how many. Running it again, or twice at once, changes nothing more."""
    failed = import_batches_fail_stale()
    if failed:
        logger.warning("Marked failed %s import(s) left running by a process that stopped", failed)
    return failed
