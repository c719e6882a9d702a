"""Erasing a customer's personal data on request (GDPR art. 17), the customer row kept.

A customer with ledger lines or survey records cannot be deleted (the ledger is immutable, records
are kept), so erasure blanks what identifies the person or is in their own words, and keeps what
every figure counts: the customer's external id (the company's own pseudonymous key, which ledger
imports match on), segment, dates, reason category, parent and referrer; each invitation's state,
dates and reference; each response's score, category, dates, touchpoint and segment. NPS, earned
growth and cohorts read the same before and after (SPEC §4: every invited, suppressed and bounced
customer stays counted).

Erased, in one transaction, and again on a second run (it is idempotent):
- the customer's name, email and reason text; it is opted out of every email from then on;
- its invitations' address and last sending error (a provider's error quotes the address), the
  sweeper's "interrupted" kept (it names nobody; an anonymous survey's row reads "delivered" by it);
- its responses' reason, suggestion and follow-up note, in their simple-history rows too;
- the suppression rows of its addresses (lookups are by address, so one cannot be kept without
  it), unless another customer not erased has the address: then it is theirs too, and stays;
- in django-auditlog, the customer's entries keep who changed which field when, the personal
  fields' values masked and the object named by its external id only; the entries of its
  suppression rows keep who and when, every value masked (an export's entry stays one: who, when). One
  new entry records the erasure (who, when), none of the data. The Django admin's own log names objects the same way;
- the open "why did you choose us?" links of the customer expire (their page opens nothing),
  as do its survey links (`surveys.responses.invitation_find` finds no invitation of an erased
  customer);
- an import error message quoting its name or address is replaced by a notice.
"""

from dataclasses import dataclass

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from cxplatform.audit import audit_record, hidden

from .data_export import EXPORT_MARK
from .models import Customer, ImportBatch, ImportRowError, ReasonRequest

PERSONAL_FIELDS = ("name", "email", "reason_text")
ERASED_MESSAGE = "(personal data quoted here was erased)"
# A name shorter than this is not looked for in import messages: "Al" is in too many words.
NAME_MIN_LENGTH = 3
ERASURE_MARK = {"erasure": "personal data erased"}  # the audit entry of the erasure itself


def erased_refusal(customer: Customer) -> str | None:
    """Why staff may not type the customer's personal data in again (API, admin, reason form); None
    when it was not erased. Blank values stay accepted: a client echoing what it read changes nothing."""
    if customer.erased_at is None:
        return None
    day = timezone.localdate(customer.erased_at)
    return f"This customer's personal data was erased on {day:%Y-%m-%d}; it cannot be set again."


@dataclass
class Erasure:
    customer: Customer
    already_erased: bool
    invitations: int = 0
    responses: int = 0
    history_rows: int = 0
    audit_entries: int = 0
    suppressions: int = 0
    reason_links: int = 0
    import_messages: int = 0

    def summary(self) -> str:
        customer = self.customer
        head = (
            f"{customer.external_id}: personal data already erased on {timezone.localdate(customer.erased_at)}; "
            "checked again"
            if self.already_erased
            else f"{customer.external_id}: personal data erased"
        )
        return (
            f"{head}: {self.invitations} invitation(s), {self.responses} response(s), "
            f"{self.history_rows} history row(s), {self.audit_entries} audit entr(y/ies) masked, "
            f"{self.suppressions} suppression row(s) deleted, {self.reason_links} reason link(s) expired, "
            f"{self.import_messages} import message(s) blanked."
        )


def customer_erase(*, customer: Customer, by=None) -> Erasure:
    """Erase the customer's personal data (see the module's docstring); `by`: the staff user."""
    from surveys.models import Invitation, InvitationState, Response, SuppressedAddress, SuppressionReason
    from surveys.sending import INTERRUPTED

    with transaction.atomic(), disable_auditlog():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        result = Erasure(customer=customer, already_erased=customer.erased_at is not None)
        now = timezone.now()
        invitations = Invitation.objects.filter(customer=customer)
        addresses = {customer.email, *invitations.values_list("email", flat=True)} - {""}
        quoted = addresses | ({customer.name} if len(customer.name) >= NAME_MIN_LENGTH else set())
        opted_out_before = customer.survey_opt_out

        if not result.already_erased:
            customer.erased_at = now
        customer.name = customer.email = customer.reason_text = ""
        customer.survey_opt_out = True
        customer.updated_at = now  # the API's incremental readers see the blanks
        Customer.objects.filter(pk=customer.pk).update(
            name="", email="", reason_text="", survey_opt_out=True, erased_at=customer.erased_at, updated_at=now
        )
        # Its queued rows suppressed now, as the sender's claim would (opted out), on the rows
        # themselves: a claim waiting for this transaction's row lock reads the customer as its
        # statement began (before this), so only the row's own state stops it emailing the old address.
        invitations.filter(state=InvitationState.QUEUED).update(
            state=InvitationState.SUPPRESSED, suppression_reason=SuppressionReason.OPTED_OUT, expires_at=None,
            updated_at=now,
        )
        # The sweeper's "interrupted" names nobody and keeps an anonymous survey's row reading
        # "delivered" like its answered twins (surveys.selectors.invitation_state_shown).
        # A failed or bounced row's reason as shown (failures.failure_reason) goes with its error.
        kept = Value(INTERRUPTED)
        result.invitations = invitations.exclude(Q(last_error="") | Q(last_error=INTERRUPTED), email="").update(
            email="", last_error=Case(When(last_error=INTERRUPTED, then=kept), default=Value("")), updated_at=now
        )
        texts = Q(reason="", suggestion="", follow_up_note="")
        result.responses = (
            Response.objects.filter(customer=customer)
            .exclude(texts)
            .update(reason="", suggestion="", follow_up_note="", updated_at=now)
        )
        result.history_rows = (
            Response.history.model.objects.filter(customer_id=customer.pk)
            .exclude(texts)
            .update(reason="", suggestion="", follow_up_note="")
        )
        result.reason_links = ReasonRequest.objects.filter(customer=customer, expires_at__gt=now).update(expires_at=now)
        result.suppressions = _delete_suppressions(SuppressedAddress, addresses, customer)
        result.audit_entries = _mask_audit_entries(customer, addresses, SuppressedAddress)
        result.import_messages = _blank_import_messages(quoted)
        if not result.already_erased:
            audit_record(
                customer,
                action=LogEntry.Action.UPDATE,
                changes={
                    **{field: [hidden(""), ""] for field in PERSONAL_FIELDS},
                    "survey_opt_out": [str(opted_out_before), "True"],
                    "erased_at": ["None", str(customer.erased_at)],
                },
                text="Personal data erased",
                mark=ERASURE_MARK,
                by=by,
            )
    return result


def _delete_suppressions(model, addresses: set[str], customer: Customer) -> int:
    """Delete the suppression rows of the addresses no other customer (not erased) has."""
    if not addresses:
        return 0
    lowered = {address.strip().lower() for address in addresses}
    shared = {
        email.strip().lower()
        for email in Customer.objects.exclude(pk=customer.pk)
        .filter(erased_at__isnull=True)
        .filter(_any("email__iexact", lowered))
        .values_list("email", flat=True)
    }
    own = lowered - shared
    if not own:
        return 0
    rows = model.objects.filter(email__in=model.objects.suppression_of(own))
    count = rows.count()
    rows.delete_with_forms()
    return count


def _any(lookup: str, values) -> Q:
    """`lookup` matching any of the values (none: nothing)."""
    query = Q(pk__in=[])
    for value in values:
        query |= Q(**{lookup: value})
    return query


AUDIT_FIELDS = ["changes", "object_repr", "changes_text", "serialized_data", "additional_data"]


def _mask_audit_entries(customer: Customer, addresses: set[str], suppression_model) -> int:
    customer_type = ContentType.objects.get_for_model(Customer)
    entries = list(LogEntry.objects.filter(content_type=customer_type, object_id=customer.pk))
    for entry in entries:
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        for field in PERSONAL_FIELDS:
            if field in changes:
                changes[field] = [
                    hidden(value) if value not in (None, "", "None") else value for value in changes[field]
                ]
        entry.changes = changes
        entry.object_repr = str(customer)
        entry.changes_text = ""
        entry.serialized_data = None
        if entry.additional_data not in (ERASURE_MARK, EXPORT_MARK):  # who erased or exported stays
            entry.additional_data = None
    AdminLogEntry.objects.filter(content_type=customer_type, object_id=str(customer.pk)).update(
        object_repr=str(customer)[:200]
    )
    if addresses:
        forms = {form for address in addresses for form in _forms(address)}
        named = _any("object_repr__istartswith", [f"{form} (" for form in forms])
        suppression_type = ContentType.objects.get_for_model(suppression_model)
        suppressions = list(LogEntry.objects.filter(named, content_type=suppression_type))
        for entry in suppressions:
            changes = entry.changes if isinstance(entry.changes, dict) else {}
            entry.changes = {field: [hidden(v) for v in values] for field, values in changes.items()}
            entry.object_repr = "erased address"
            entry.changes_text = ""
            entry.serialized_data = entry.additional_data = None
        entries += suppressions
        AdminLogEntry.objects.filter(named, content_type=suppression_type).update(object_repr="erased address")
    LogEntry.objects.bulk_update(entries, AUDIT_FIELDS, batch_size=500)  # one statement, not one per entry
    return len(entries)


def _forms(address: str) -> list[str]:
    from surveys.models import address_forms

    return address_forms(address)


def _blank_import_messages(quoted: set[str]) -> int:
    if not quoted:
        return 0
    rows = ImportRowError.objects.filter(_any("message__icontains", quoted))
    count = rows.update(message=ERASED_MESSAGE)
    ImportBatch.objects.filter(_any("message__icontains", quoted)).update(message=ERASED_MESSAGE)
    return count
