"""Everything the platform holds about one customer, for an access request (GDPR art. 15): the
companion of `accounting.erasure` (art. 17).

`customer_data_export` returns a JSON-serialisable dict (README, "Exporting a customer's data"):
times in ISO 8601 with their offset (the company's zone), days as YYYY-MM-DD, amounts as decimal
strings. It reads a fixed number of queries whatever the customer's history (no query per row).

Anonymous surveys: the platform promises that nobody, admins included, sees which customer gave
which answer (README, "Anonymous surveys"), and staff hand this export over. So the customer's
answers to them are left out, and their invitations read as staff see them anywhere else
(`surveys.selectors.invitation_state_shown`: sent, answered and expired all read "delivered",
without the answer's or reminder's dates). The export says so itself (`note`).
"""

from auditlog.models import LogEntry
from django.conf import settings
from django.utils import timezone

from cxplatform.audit import audit_record

from .models import CostEntry, Customer, ReasonRequest, RevenueEntry

EXPORT_NOTE = (
    "Answers to anonymous surveys are not included, and the invitations of those surveys show only "
    "what staff see of them (sent, answered and expired all read 'delivered', without the dates of an "
    "answer or a reminder): the platform promises that nobody, its staff included, sees who answered "
    "an anonymous survey."
)
EXPORT_MARK = {"export": "personal data exported"}  # the audit entry of an export


def _when(value) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _amount(value) -> str | None:
    return str(value) if value is not None else None


def _ledger_line(line, currency: str, **details) -> dict:
    return {
        "date": _day(line.date),
        "amount": _amount(line.amount),
        "currency": currency,
        "external_ref": line.external_ref,
        **details,
    }


def customer_data_export(*, customer: Customer) -> dict:
    """What the platform holds about `customer` (see the module's docstring)."""
    from surveys.models import Response, SuppressedAddress
    from surveys.selectors import invitation_state_shown

    customer = Customer.objects.select_related("reason", "reason_mapped_to", "referred_by", "parent").get(
        pk=customer.pk
    )
    currency = settings.REPORTING_CURRENCY
    referrals = list(customer.referrals.order_by("external_id").values_list("external_id", flat=True))
    revenue = [
        _ledger_line(line, currency, product=line.product)
        for line in RevenueEntry.objects.filter(customer=customer).order_by("date", "id")
    ]
    costs = [
        _ledger_line(line, currency, kind=line.kind, description=line.description)
        for line in CostEntry.objects.filter(customer=customer).order_by("date", "id")
    ]
    reason_requests = [
        {
            "asked_on": _when(request.created_at),
            "sent_at": _when(request.sent_at),
            "expires_at": _when(request.expires_at),
            "answered": request.answered_at is not None,
            "answered_at": _when(request.answered_at),
        }
        for request in ReasonRequest.objects.filter(customer=customer).order_by("created_at", "id")
    ]
    invitations = list(customer.invitations.select_related("survey").order_by("created_at", "id"))
    responses = list(
        Response.objects.filter(customer=customer, survey__anonymous=False)
        .select_related("survey")
        .order_by("answered_at", "id")
    )
    edits = {}
    history = Response.history.model.objects.filter(customer_id=customer.pk, survey__anonymous=False)
    for row in history.order_by("history_date", "history_id"):
        edits.setdefault(row.id, []).append(
            {
                "changed_at": _when(row.history_date),
                "change": row.get_history_type_display().lower(),
                "score": row.score,
                "category": row.category,
                "reason": row.reason,
                "suggestion": row.suggestion,
                "follow_up_note": row.follow_up_note,
            }
        )
    addresses = {customer.email, *(invitation.email for invitation in invitations)} - {""}
    suppressed = (
        SuppressedAddress.objects.filter(email__in=SuppressedAddress.objects.suppression_of(addresses)).order_by(
            "created_at", "email"
        )
        if addresses
        else []
    )
    reason = customer.reason
    return {
        "note": EXPORT_NOTE,
        "exported_at": _when(timezone.now()),
        "customer": {
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
            "language": customer.language,
            "segment": customer.segment,
            "acquired_on": _day(customer.acquired_on),
            "acquisition_cost": _amount(customer.acquisition_cost),
            "acquisition_reason": {
                "category": reason.label if reason else None,
                "mapped_to": customer.reason_mapped_to.label if customer.reason_mapped_to else None,
                "kind": customer.reason_kind,
                "reason_text": customer.reason_text,
                "source": customer.reason_source,
                "answered_at": _when(customer.reason_answered_at),
            },
            "referred_by": customer.referred_by.external_id if customer.referred_by else None,
            "parent": customer.parent.external_id if customer.parent else None,
            "survey_opt_out": customer.survey_opt_out,
            "erased_at": _when(customer.erased_at),
            "created_at": _when(customer.created_at),
            "updated_at": _when(customer.updated_at),
        },
        "referrals": referrals,
        "revenue": revenue,
        "costs": costs,
        "reason_requests": reason_requests,
        "invitations": [_invitation(invitation, invitation_state_shown(invitation)) for invitation in invitations],
        "responses": [_response(response, edits.get(response.pk, [])) for response in responses],
        "suppressed_addresses": [
            {"email": row.email, "kind": row.kind, "suppressed_at": _when(row.created_at)} for row in suppressed
        ],
    }


def _invitation(invitation, state: str) -> dict:
    anonymous = invitation.survey.anonymous  # what would tell whether it was answered is left out
    return {
        "survey": invitation.survey.name,
        "survey_anonymous": anonymous,
        "touchpoint": invitation.touchpoint,
        "reference": invitation.reference,
        "state": state,
        "suppression_reason": invitation.suppression_reason,
        "email": invitation.email,
        "created_at": _when(invitation.created_at),
        "sent_at": _when(invitation.sent_at),
        "expires_at": _when(invitation.expires_at),
        "reminder_sent_at": None if anonymous else _when(invitation.reminder_sent_at),
        "responded_at": None if anonymous else _when(invitation.responded_at),
        "bounced_at": _when(invitation.bounced_at),
    }


def _response(response, history: list[dict]) -> dict:
    return {
        "survey": response.survey.name,
        "score": response.score,
        "category": response.category,
        "reason": response.reason,
        "suggestion": response.suggestion,
        "answered_at": _when(response.answered_at),
        "touchpoint": response.touchpoint,
        "segment": response.segment,
        "language": response.language,
        "source": response.source,
        "followed_up_at": _when(response.followed_up_at),
        "follow_up_note": response.follow_up_note,
        "history": history,
    }


def customer_export_logged(*, customer: Customer, by=None) -> dict:
    """`customer_data_export`, with an audit entry saying who exported whose data when (none of it)."""
    data = customer_data_export(customer=customer)
    audit_record(customer, action=LogEntry.Action.ACCESS, text="Personal data exported", mark=EXPORT_MARK, by=by)
    return data
