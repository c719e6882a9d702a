"""Writes of the accounting app: entity roll-up, acquisition reasons and their emailed requests,
imports a dead process left running."""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from .erasure import erased_refusal
from .models import (
    OTHER_STAYS_UNKNOWN,
    REASON_TEXT_MAX_LENGTH,
    Customer,
    ImportBatch,
    ImportStatus,
    ReasonCategory,
    ReasonKind,
    ReasonRequest,
)
from .rollup_sql import ENTITY_LOCK

logger = logging.getLogger(__name__)

REFRESH_BATCH = 2000
MAX_PARENT_DEPTH = 100
# An import still running this long after it started belongs to a process that died (settings
# IMPORT_STALE_HOURS): the largest files take minutes through the commands.
IMPORT_STALE_HOURS = 6
IMPORT_INTERRUPTED = (
    "Interrupted: the process running this import stopped before it finished; nothing of it was written."
)


# Every customer's top ancestor, walked down from the roots: a customer in a cycle (which import
# validation refuses) is never reached, so the walk always ends. A row that moves shows another
# entity: its updated_at moves too (the API's incremental pulls).
REFRESH_ENTITIES_SQL = """
WITH RECURSIVE tops(id, top) AS (
    SELECT id, id FROM accounting_customer WHERE parent_id IS NULL
    UNION ALL
    SELECT child.id, tops.top FROM accounting_customer child JOIN tops ON child.parent_id = tops.id
)
UPDATE accounting_customer AS customer SET entity_id = tops.top, updated_at = %s
FROM tops
WHERE customer.id = tops.id AND customer.entity_id IS DISTINCT FROM tops.top
"""


def customers_refresh_entities() -> int:
    """Point every customer at its top ancestor; returns how many changed.

    On PostgreSQL one statement does it (a recursive walk and an UPDATE of the rows that moved),
    so the roll-up's trigger on customers fires once; Django's bulk_update took 19 s for 20,000 new
    customers. SQLite (the embedded demo) walks the forest in Python instead.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(REFRESH_ENTITIES_SQL, [now])
            return cursor.rowcount
    return _refresh_entities_in_python(now)


def _refresh_entities_in_python(now: datetime) -> int:
    """One query reads the forest, one bulk update writes what moved. The `seen` guard only keeps
    a corrupt row (a cycle) from hanging the walk."""
    rows = list(Customer.objects.values_list("id", "parent_id", "entity_id"))
    parent = {pk: parent_id for pk, parent_id, _ in rows}
    top: dict[int, int] = {}

    def top_of(pk: int) -> int:
        path, seen = [], set()
        while pk not in top and parent.get(pk) is not None and pk not in seen:
            seen.add(pk)
            path.append(pk)
            pk = parent[pk]
        root = top.get(pk, pk)
        for node in path:
            top[node] = root
        top[pk] = root
        return root

    changed = [
        Customer(id=pk, entity_id=top_of(pk), updated_at=now) for pk, _, entity in rows if top_of(pk) != entity
    ]
    Customer.objects.bulk_update(changed, ["entity", "updated_at"], batch_size=REFRESH_BATCH)
    return len(changed)


# The chain of ancestors from a customer up, as the database holds it now; the depth bound also
# ends the walk on a corrupt row (a cycle).
ANCESTORS_SQL = """
WITH RECURSIVE chain(id, parent_id, depth) AS (
    SELECT id, parent_id, 1 FROM accounting_customer WHERE id = %s
    UNION ALL
    SELECT up.id, up.parent_id, chain.depth + 1
    FROM accounting_customer up JOIN chain ON up.id = chain.parent_id
    WHERE chain.depth < %s
)
SELECT id, parent_id FROM chain ORDER BY depth
"""


def customers_lock_tree() -> None:
    """Hold, until the transaction ends, the lock every move of customers between entities takes
    exclusively (the roll-up's trigger, see `rollup_sql`).

    Taken before a write checks or reads the tree (a new parent, a new child's entity): a move
    committed before is then seen, and none commits until this write does. Otherwise two edits
    at once (A under B, B under A) each pass against the tree as it was, and store a cycle.
    PostgreSQL only: SQLite runs one writing transaction at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", ENTITY_LOCK)


def customer_parent_error(*, customer_pk: int | None, parent: Customer | None) -> str | None:
    """Why `parent` may not be the parent of customer `customer_pk` (None: a new one), or None.

    One query walks up from `parent` as committed now, not as `parent` was read: run it after
    `customers_lock_tree`, in the transaction that writes the parent.
    """
    if parent is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(ANCESTORS_SQL, [parent.pk, MAX_PARENT_DEPTH])
        chain = cursor.fetchall()
    if customer_pk is not None and any(pk == customer_pk for pk, _ in chain):
        return "A customer cannot be its own ancestor."
    if len(chain) >= MAX_PARENT_DEPTH and chain[-1][1] is not None:
        return "The parent chain is too deep."
    return None


def customer_renamed(customer: Customer) -> None:
    """The customer's external id changed: the rows that show it changed too, for the API's
    incremental pulls (`changed_after`): its children's parent, its referrals' referrer, its
    entity's members' entity, and its invitations' customer."""
    now = timezone.now()
    shown_on = Q(parent=customer) | Q(referred_by=customer) | Q(entity=customer)
    Customer.objects.filter(shown_on).exclude(pk=customer.pk).update(updated_at=now)
    apps.get_model("surveys", "Invitation").objects.filter(customer=customer).update(updated_at=now)


def reason_assignment_error(*, reason: ReasonCategory, current_reason_id: int | None) -> str | None:
    """Why `reason` may not be given to a customer whose reason is `current_reason_id`, or None.

    A new answer is a choice of active categories (SPEC §2). A customer keeps a category retired
    after it was given, so sending the reason it already has again (an old CRM export imported
    once more, an API client echoing what it read) is no error.
    """
    if reason.is_active or reason.pk == current_reason_id:
        return None
    return f"'{reason.slug}' is an inactive reason category; choose an active one."


def reason_text_error(text: str) -> str | None:
    """Why a new reason text may not be stored (too long), or None."""
    if len(text) > REASON_TEXT_MAX_LENGTH:
        return f"Ensure this value has at most {REASON_TEXT_MAX_LENGTH} characters (it has {len(text)})."
    return None


def reason_category_kind_error(*, slug: str, kind: str) -> str | None:
    """Why the category `slug` may not be of `kind`, or None. "Other" stays unknown (SPEC §2): its
    answers are classed one by one, by mapping them onto another category."""
    if slug == ReasonCategory.OTHER_SLUG and kind != ReasonKind.UNKNOWN:
        return OTHER_STAYS_UNKNOWN
    return None


def one_line_break(text: str) -> str:
    """Line breaks as LF, whichever door the text came through: a browser posts CRLF, an API
    client may send either. Every door stores (and compares) the same text."""
    return text.replace("\r\n", "\n")


def customer_set_reason(
    *, customer: Customer, reason: ReasonCategory, text: str | None = "", source: str
) -> Customer:
    """Record the acquisition reason. "Other" needs its free text; the text is kept as given.

    The answer the customer already has, sent again (an API client echoing what it read), changes
    nothing: an admin's mapping of an "other" answer, its source and date stay. `text=None` means
    no text was sent at all: the reason the customer has, so sent, keeps its stored text too.
    """
    if text is None and reason.pk == customer.reason_id:
        return customer
    text = one_line_break(text or "")
    # An erased customer's words are not taken in again (accounting.erasure); its "other" has none.
    erased = erased_refusal(customer)
    if erased is not None and text.strip():
        raise ValidationError({"reason_text": erased})
    error = reason_assignment_error(reason=reason, current_reason_id=customer.reason_id)
    if error is not None:
        raise ValidationError({"reason": error})
    if reason.slug == ReasonCategory.OTHER_SLUG and not text.strip() and erased is None:
        raise ValidationError({"reason_text": "Please say what the other reason is."})
    if reason.pk == customer.reason_id and text.strip() == one_line_break(customer.reason_text):
        return customer  # a text stored with CRLF before, sent back with LF, is the same answer
    # After the echo above: a longer text stored before the limit may still be sent back unchanged.
    error = reason_text_error(text.strip())
    if error is not None:
        raise ValidationError({"reason_text": error})
    customer.reason = reason
    customer.reason_text = text.strip()
    return customer_record_new_answer(customer=customer, source=source)


def customer_record_new_answer(*, customer: Customer, source: str) -> Customer:
    """The reason and text now set on `customer` are a new answer: stored with its source and
    time, and an admin's mapping of the previous "other" text dropped. For a caller that has
    checked the answer and set it already (the admin's form); others use customer_set_reason."""
    customer.reason_mapped_to = None
    customer.reason_source = source
    customer.reason_answered_at = timezone.now()
    customer.save(
        update_fields=[
            "reason", "reason_text", "reason_mapped_to", "reason_source",
            "reason_answered_at", "updated_at",
        ]
    )
    return customer


def customer_clear_reason(*, customer: Customer) -> Customer:
    """No known reason any more: the customer counts as unknown (SPEC §3), mapping included."""
    customer.reason, customer.reason_text, customer.reason_mapped_to = None, "", None
    customer.reason_source, customer.reason_answered_at = "", None
    customer.save(
        update_fields=[
            "reason", "reason_text", "reason_mapped_to", "reason_source",
            "reason_answered_at", "updated_at",
        ]
    )
    return customer


# What the mapping refuses when the answer it was given for is no longer the customer's.
REASON_ANSWER_CHANGED = "This answer changed since you opened the page; review it again."


def other_answer_fingerprint(text: str) -> str:
    """Names the "other" text an admin read, so that a page can carry it back (hidden) with the mapping."""
    return hashlib.sha256(text.encode()).hexdigest()


def other_answer_lock(*, customer_pk: int) -> Customer | None:
    """The customer, its row locked until the transaction ends, while its answer is "other"; else None."""
    return (
        Customer.objects.select_for_update(of=("self",))
        .filter(pk=customer_pk, reason__slug=ReasonCategory.OTHER_SLUG)
        .first()
    )


def customer_map_other_reason(
    *, customer: Customer, category: ReasonCategory | None, answer_seen: str | None = None
) -> Customer:
    """An admin classes an "other" answer; None undoes the mapping (the answer stays unknown).

    Only the answer the admin read is mapped: `answer_seen` is its `other_answer_fingerprint`
    (by default, of the text `customer` holds). A customer who answered again since (which dropped
    any mapping) is left unchanged, refused with REASON_ANSWER_CHANGED.
    Saved through Customer whatever `customer` is (the admin's proxy): the audit log registers
    Customer, so the change is logged under the customer with its old and new values.
    """
    if category is not None and category.slug == ReasonCategory.OTHER_SLUG:
        raise ValidationError({"reason_mapped_to": "Map onto a category other than 'Other'."})
    if answer_seen is None:
        answer_seen = other_answer_fingerprint(customer.reason_text)
    with transaction.atomic():
        stored = other_answer_lock(customer_pk=customer.pk)
        if stored is None or other_answer_fingerprint(stored.reason_text) != answer_seen:
            raise ValidationError(REASON_ANSWER_CHANGED, code="changed")
        stored.reason_mapped_to = category
        stored.save(update_fields=["reason_mapped_to", "updated_at"])
    customer.reason_mapped_to, customer.updated_at = category, stored.updated_at
    return customer


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedReasonRequest:
    request: ReasonRequest
    token: str  # only ever in the email; the database keeps its hash

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}/why/{self.token}/"


def reason_link_expiry(now: datetime) -> datetime:
    """When a link made at `now` stops working: at the end of its last day (REASON_LINK_VALID_DAYS
    after today) in the company's time zone, the midnight after it. Its email names that day."""
    zone = timezone.get_default_timezone()
    last_day = timezone.localdate(now, zone) + timedelta(days=settings.REASON_LINK_VALID_DAYS)
    return timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min), zone)


def _suppressed_addresses():
    # The bounce and complaint list is the surveys app's (its webhooks fill it); read lazily, so
    # that accounting, the base app, imports nothing of it.
    return apps.get_model("surveys", "SuppressedAddress").objects


def address_suppressed(email: str) -> bool:
    """Whether an address bounced hard or complained: it is never emailed again, by any email."""
    return bool(email) and _suppressed_addresses().of_address(email.lower()).exists()


def address_suppressed_expression(path: str) -> Exists:
    """`address_suppressed` in a query, for the address at `path` (e.g. "email", "customer__email")."""
    return Exists(_suppressed_addresses().of_address(Lower(OuterRef(path))))


def reason_request_create(*, customer: Customer, user=None) -> IssuedReasonRequest:
    """A new "why did you choose us?" link (256 random bits), emailed after commit."""
    if not customer.email:
        raise ValidationError({"email": f"Customer {customer.external_id} has no email address."})
    if customer.survey_opt_out:
        raise ValidationError({"email": f"Customer {customer.external_id} opted out of our emails."})
    if address_suppressed(customer.email):
        raise ValidationError(
            {"email": f"{customer.email} bounced or complained before: it gets no more email from us."}
        )
    token = secrets.token_urlsafe(32)
    request = ReasonRequest.objects.create(
        customer=customer,
        token_hash=hash_token(token),
        expires_at=reason_link_expiry(timezone.now()),
        created_by=user,
    )
    _send_after_commit(request.pk, token)
    return IssuedReasonRequest(request=request, token=token)


def reason_request_ask(*, customer: Customer, user) -> IssuedReasonRequest:
    """A person asks a customer why they chose us: a new link, unless one is still open.

    SPEC §2 asks once: a second click (or a browser's retried POST) while the first link can
    still be answered sends nothing and says so. A link never sent is open too (its task may be
    on its way; the daily run resends it if not). Once the link expired, a new one goes out.
    The customer's row is the lock, so two clicks at once make one request.
    """
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        # A separate query after the lock, so it sees a request committed meanwhile.
        still_open = (
            ReasonRequest.objects.filter(customer=customer, answered_at__isnull=True, expires_at__gt=timezone.now())
            .order_by("-created_at")
            .first()
        )
        if still_open is not None:
            asked_on = timezone.localdate(still_open.sent_at or still_open.created_at, timezone.get_default_timezone())
            # ISO dates, as the customer page under this message shows them; a link whose email
            # has not gone out yet was only made, not sent.
            done = "sent" if still_open.sent_at else "made"
            raise ValidationError(
                f"The “why did you choose us?” link {done} on {asked_on.isoformat()} is still open"
                f" (it works until {still_open.last_day.isoformat()}): no new email was sent.",
                code="open",
            )
        return reason_request_create(customer=customer, user=user)


def reason_request_resend(*, request: ReasonRequest) -> bool:
    """Email again a request never sent (its task gave up, or never reached the broker).

    Its token was only ever in that task's message, so the request gets a new one; a message
    still carrying the old token then finds the hash changed and sends nothing, and the claim on
    `sent_at` in the task keeps the request to one email. False when the request was sent,
    answered or given a new token meanwhile (another run got there first).
    """
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        renewed = ReasonRequest.objects.filter(
            pk=request.pk, token_hash=request.token_hash, sent_at__isnull=True, answered_at__isnull=True
        ).update(token_hash=hash_token(token))
        if renewed:
            _send_after_commit(request.pk, token)
    return bool(renewed)


def _send_after_commit(request_pk: int, token: str) -> None:
    transaction.on_commit(lambda: _enqueue_send(request_pk, token))


def reason_task_argsrepr(request_pk: int) -> str:
    """What a reason request's task message shows for its arguments: never the token."""
    return f"({request_pk}, '<token>')"


def _enqueue_send(request_pk: int, token: str) -> None:
    """Queue the email. The row is committed already: a broker that cannot take the message must
    not fail the page or the run that asked; the request stays unsent and a later daily run
    (`tasks.reason_requests_to_resend`) sends it."""
    from .tasks import send_reason_request

    try:
        # The token travels in the task message once; it is never stored in clear, and
        # monitoring (flower, task results) and the worker's log see a placeholder instead.
        send_reason_request.apply_async((request_pk, token), argsrepr=reason_task_argsrepr(request_pk))
    except Exception as exc:  # noqa: BLE001 - any failure to queue leaves the row for the next run
        logger.error("Reason request %s not queued, left for the next daily run: %r", request_pk, exc)


class ReasonRequestState:
    OPEN, ANSWERED, EXPIRED = "open", "answered", "expired"


def reason_request_find(token: str) -> ReasonRequest | None:
    """The request for a token, or None for unknown and malformed tokens alike."""
    if not token or len(token) > 100:
        return None
    return (
        ReasonRequest.objects.select_related("customer")
        .filter(token_hash=hash_token(token))
        .first()
    )


def reason_request_state(request: ReasonRequest) -> str:
    if request.answered_at is not None:
        return ReasonRequestState.ANSWERED
    if request.is_expired:
        return ReasonRequestState.EXPIRED
    return ReasonRequestState.OPEN


def reason_request_answer(*, token: str, reason: ReasonCategory, text: str = "") -> ReasonRequest:
    """Store the customer's answer once. The row lock makes a double POST answer only once."""
    with transaction.atomic():
        request = (
            ReasonRequest.objects.select_for_update()
            .select_related("customer")
            .filter(token_hash=hash_token(token))
            .first()
        )
        if request is None:
            raise ReasonRequest.DoesNotExist
        state = reason_request_state(request)
        if state != ReasonRequestState.OPEN:
            raise ValidationError(f"This link is {state}.", code=state)
        if not reason.is_active:
            raise ValidationError({"reason": "Please choose one of the listed reasons."})
        customer_set_reason(customer=request.customer, reason=reason, text=text, source="email")
        request.answered_at = timezone.now()
        request.save(update_fields=["answered_at"])
    return request


def import_batches_fail_stale(*, hours: int | None = None) -> int:
    """Mark failed the imports still running `hours` after they started; returns how many.

    A batch row is committed before its import's transaction (`imports.runner`), so a process
    killed mid-import (a web worker past gunicorn's timeout, a stopped command) leaves it "running"
    for ever, while its rows were rolled back with the transaction. `finished_at` stays empty: when
    it stopped is unknown. The conditional UPDATE spares a batch that finished meanwhile, and an
    import still alive past the limit writes its real outcome over this one when it ends.
    """
    if hours is None:
        hours = getattr(settings, "IMPORT_STALE_HOURS", IMPORT_STALE_HOURS)
    started_before = timezone.now() - timedelta(hours=hours)
    return ImportBatch.objects.filter(status=ImportStatus.RUNNING, started_at__lt=started_before).update(
        status=ImportStatus.FAILED, message=IMPORT_INTERRUPTED
    )
