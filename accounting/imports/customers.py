"""Customers: insert new ones, update known ones (matched by external_id).

An empty cell leaves the stored value as it is (a CRM export that lacks a column's value must not
erase an answer given by email). `reason` and `reason_text` are one answer, judged as the customer
would hold it after the row (see `_answer`), by the rules of `services.customer_set_reason`.
`parent` and `referred_by` may name customers created further down the same file. Customer files
are parsed as they stream, but their rows are kept until the end: references and parent cycles can
only be judged with every row known.

Customer imports take turns (PostgreSQL): see `_take_turns`.
"""

import datetime as dt
import math
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from ..models import REASON_TEXT_MAX_LENGTH, Customer, ReasonCategory
from ..services import customers_lock_tree, customers_refresh_entities, one_line_break, reason_assignment_error
from . import cells
from .columns import CUSTOMER_COLUMNS
from .ledger import Counts
from .problems import CellError, Problems
from .source import RowSource

WRITE_BATCH = 1000
ANALYZE_AFTER = 1000  # new customers in one file
LOOKUP_CHUNK = 5000
# Advisory lock key (two int4) of customer imports: "cxic" (the roll-up holds "cxrq",
# surveys "cxin", "cxi1" and "cxir").
IMPORTING_CUSTOMERS = 0x63786963
EMAIL_MAX_LENGTH = Customer._meta.get_field("email").max_length


# column -> (parser, model field); parsers turn a non-empty cell into the model's value.
def _parsers(reasons: dict[str, ReasonCategory]):
    active = ", ".join(slug for slug, category in reasons.items() if category.is_active)

    def reason(value):
        category = reasons.get(value)
        if category is None:
            raise CellError(f"unknown reason '{value}'; use one of {active}")
        return category.id  # an inactive one is judged later, against the customer's current reason

    return {
        "name": lambda v: cells.text(v, 200),
        "email": lambda v: cells.email(v, EMAIL_MAX_LENGTH),
        "acquired_on": lambda v: dt.date.fromisoformat(cells.iso_date(v)),
        "reason": reason,
        "reason_text": lambda v: cells.text(one_line_break(v), REASON_TEXT_MAX_LENGTH),  # as on every door
        "segment": lambda v: cells.text(v, 100),
        "acquisition_cost": lambda v: Decimal(cells.non_negative_amount(v)),
        "language": cells.language,
    }


FIELD = {"reason": "reason_id"}  # where the column's value goes on the model
REFERENCES = ("parent", "referred_by")
ANSWER = ("reason", "reason_text")  # written together, by `_answer`
# Ignored for an erased customer: the person and their answer (the category stays as it was).
ERASED_COLUMNS = ("name", "email", *ANSWER)


def _answer(clean: dict, reason_id: int | None, text: str) -> tuple[int | None, str]:
    """The (reason, text) a customer holding `reason_id` and `text` has after the row.

    Empty cells keep what is stored; but a row that changes the reason gives a new answer, whose
    text is the row's (empty if its cell is): an old "other" text never explains another reason.
    A text with an empty reason cell is a new text for the reason the customer has (as the API's).
    """
    if "reason" in clean and clean["reason"] != reason_id:
        return clean["reason"], clean.get("reason_text", "")
    return reason_id, clean.get("reason_text", text)


def import_customers(source: RowSource, problems: Problems, batch_id: int) -> Counts:
    reasons = {c.slug: c for c in ReasonCategory.objects.all()}
    parsers = _parsers(reasons)
    parsed: dict[str, tuple[int, dict]] = {}
    bad_reason: set[str] = set()  # rows whose reason cell is wrong: their answer is not judged
    counts = Counts()
    unkeyed: list[tuple[int, str, dict]] = []  # rows refused for their external_id (see below)
    for number, values in source():
        counts.total += 1
        row = dict(zip(CUSTOMER_COLUMNS, values, strict=True))
        external_id = row.pop("external_id")
        id_error = _external_id_error(external_id, parsed)
        if id_error is not None:
            problems.add(number, "external_id", id_error)
        clean = {}
        for column, value in row.items():
            if not value:
                continue
            if column in REFERENCES:
                clean[column] = value
                continue
            try:
                clean[column] = parsers[column](value)
            except CellError as exc:
                problems.add(number, column, str(exc))
                if column in ANSWER and id_error is None:
                    bad_reason.add(external_id)
        if id_error is None:
            parsed[external_id] = (number, clean)
        else:
            # Its other cells (references too) are checked all the same, so one upload lists every
            # error of the row; it names no customer to judge an answer or a parent cycle against.
            unkeyed.append((number, external_id, clean))

    _take_turns()
    _ignore_erased(parsed, counts)
    _check_answers(parsed, bad_reason, reasons, problems)
    keyed = [(external_id, number, clean) for external_id, (number, clean) in parsed.items()]
    rows = keyed + [(external_id, number, clean) for number, external_id, clean in unkeyed]
    ids = _existing_ids(parsed.keys() | {clean[r] for _, _, clean in rows for r in REFERENCES if r in clean})
    _check_references(rows, parsed, ids, problems)
    if any("parent" in clean for _, clean in parsed.values()):
        if not problems:
            # Under the lock of entity moves until the import commits (we are in its transaction),
            # so the cycle check sees the parents as an edit at the same moment committed them.
            # A file rejected already needs no lock: its cycles are listed, nothing is written.
            customers_lock_tree()
        _check_parent_cycles(parsed, problems)
    if problems:
        return counts
    _write(parsed, ids, counts, problems, other_id=reasons[ReasonCategory.OTHER_SLUG].id)
    return counts


def _take_turns() -> None:
    """One customer import at a time from here (after parsing) until commit.

    Row locks cannot cover a customer another import is creating: uncommitted, it is not found,
    so this import would build it as new, with defaults in its empty cells, and write them over
    the other's values once that commits; it would also count it as added a second time. Waiting
    here, every read below (checks, lookups, locks) sees what the other import committed.
    Taken before the lock of entity moves (`customers_lock_tree`), which no holder of that lock
    waits for, so the two never deadlock. SQLite runs one writing transaction at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [IMPORTING_CUSTOMERS])


def _ignore_erased(parsed, counts: Counts) -> None:
    """A customer whose personal data was erased (accounting.erasure) keeps it erased: a CRM file
    naming it has its personal cells ignored, the rest of the row imported, and the result says
    how many rows were (the file is not refused for them)."""
    keys = list(parsed)
    for start in range(0, len(keys), LOOKUP_CHUNK):
        erased = Customer.objects.filter(external_id__in=keys[start : start + LOOKUP_CHUNK], erased_at__isnull=False)
        for external_id in erased.values_list("external_id", flat=True):
            clean = parsed[external_id][1]
            ignored = [clean.pop(column) for column in ERASED_COLUMNS if column in clean]
            if ignored:
                counts.erased += 1


def _existing_ids(external_ids) -> dict[str, int]:
    external_ids = list(external_ids)
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), LOOKUP_CHUNK):
        chunk = external_ids[start : start + LOOKUP_CHUNK]
        found.update(Customer.objects.filter(external_id__in=chunk).values_list("external_id", "id"))
    return found


def _check_answers(parsed, bad_reason: set[str], reasons: dict[str, ReasonCategory], problems: Problems) -> None:
    """The service's rules for every row with a reason or a text, against what is stored now."""
    other = reasons[ReasonCategory.OTHER_SLUG].id
    by_id = {c.id: c for c in reasons.values()}
    given = [
        eid for eid, (_, clean) in parsed.items() if eid not in bad_reason and any(c in clean for c in ANSWER)
    ]
    current: dict[str, tuple[int | None, str]] = {}
    for start in range(0, len(given), LOOKUP_CHUNK):
        chunk = given[start : start + LOOKUP_CHUNK]
        rows = Customer.objects.filter(external_id__in=chunk).values_list("external_id", "reason_id", "reason_text")
        current.update((eid, (reason_id, text)) for eid, reason_id, text in rows)
    for external_id in given:
        number, clean = parsed[external_id]
        stored_reason, stored_text = current.get(external_id, (None, ""))
        if "reason" in clean:  # an inactive category may only stay on a customer who has it already
            error = reason_assignment_error(reason=by_id[clean["reason"]], current_reason_id=stored_reason)
            if error is not None:
                problems.add(number, "reason", error)
        error = _answer_error(_answer(clean, stored_reason, stored_text), other)
        if error is not None:
            problems.add(number, "reason_text", error)


def _answer_error(answer: tuple[int | None, str], other_id: int) -> str | None:
    reason_id, text = answer
    if reason_id is None and text:
        return "give the reason this text explains (the customer has none)"
    if reason_id == other_id and not text:
        return "the reason 'other' needs a text saying what it is"
    return None


def _external_id_error(external_id: str, parsed) -> str | None:
    if not external_id:
        return "an external id is required"
    if len(external_id) > 100:
        return "at most 100 characters"
    if external_id in parsed:
        return f"'{external_id}' appears twice in the file (first on row {parsed[external_id][0]})"
    return None


def _check_references(rows, parsed, ids, problems: Problems) -> None:
    """`rows`: (external_id, row number, clean cells) of every row, those refused for their id too."""
    for external_id, number, clean in rows:
        for column in REFERENCES:
            target = clean.get(column)
            if target is None:
                continue
            if target == external_id:
                role = "parent" if column == "parent" else "referrer"
                problems.add(number, column, f"a customer cannot be its own {role}")
            elif target not in parsed and target not in ids:
                problems.add(number, column, f"unknown customer '{target}' (not in the file nor imported before)")


def _check_parent_cycles(parsed, problems: Problems) -> None:
    """Walk up from every customer of the file over the parents as they would be after import."""
    parent_of = dict(
        Customer.objects.filter(parent__isnull=False).values_list("external_id", "parent__external_id")
    )
    for external_id, (_, clean) in parsed.items():
        if clean.get("parent") == external_id:
            # Refused as its own parent (`_check_references`): no cycle through it to list as well.
            parent_of.pop(external_id, None)
        elif "parent" in clean:
            parent_of[external_id] = clean["parent"]
    # Each customer is walked over once: a walk stops at a customer an earlier walk went through
    # (its way up is known), so a deep hierarchy costs its size, not its size × depth².
    walked: set[str] = set()
    for external_id, (_, clean) in parsed.items():
        if "parent" not in clean or external_id in walked:
            continue
        position: dict[str, int] = {}
        path, node = [], external_id
        while node is not None and node not in walked and node not in position:
            position[node] = len(path)
            path.append(node)
            node = parent_of.get(node)
        walked.update(path)
        if node is not None and node in position:  # back on this walk: a new cycle
            _report_cycle(path[position[node]:], parsed, parent_of, problems)


def _report_cycle(cycle: list[str], parsed, parent_of: dict, problems: Problems) -> None:
    """One error per cycle, on the first row of the file that gives a parent on it, the cycle from there."""
    number, start = min((parsed[node][0], node) for node in cycle if node in parsed and "parent" in parsed[node][1])
    chain, node = [start], parent_of[start]
    while node != start:
        chain.append(node)
        node = parent_of[node]
    problems.add(number, "parent", f"parent cycle: {' → '.join([*chain, start])}")


def _write(parsed, ids, counts: Counts, problems: Problems, *, other_id: int) -> None:
    # Locked until the import commits: every column is written back from what is read here, so a
    # reason answered by email meanwhile would otherwise be overwritten with the stale value. In id
    # order across the whole file, the order a revenue or costs import locks the customers it names
    # (`ledger._lock_customers`): in two orders each could hold a customer the other waits for. The
    # external ids not found come last: a customer created meanwhile has the highest ids.
    existing = {}
    known = _existing_ids(parsed)
    keys = sorted(parsed, key=lambda external_id: known.get(external_id, math.inf))
    locked = Customer.objects.select_for_update().order_by("pk")
    for start in range(0, len(keys), LOOKUP_CHUNK):
        existing.update(locked.in_bulk(keys[start : start + LOOKUP_CHUNK], field_name="external_id"))
    now = timezone.now()
    changed: list[Customer] = []
    for external_id, (number, clean) in parsed.items():
        customer = existing.get(external_id) or Customer(external_id=external_id)
        is_new = customer.pk is None
        dirty = is_new
        for column, value in clean.items():
            if column in REFERENCES or column in ANSWER:
                continue
            if customer.erased_at is not None and column in ERASED_COLUMNS:
                continue  # erased since `_ignore_erased` looked (this row is locked now): stays so
            field = FIELD.get(column, column)
            if getattr(customer, field) != value:
                setattr(customer, field, value)
                dirty = True
        answer = _answer(clean, customer.reason_id, customer.reason_text)
        error = _answer_error(answer, other_id)
        if customer.erased_at is not None:
            pass  # its answer cells were ignored (`_ignore_erased`); an "other" kept has no text now
        elif error is not None:  # the stored answer changed since the check (an email answer)
            problems.add(number, "reason_text", error)
        # A CRLF text stored before and its LF twin are the same answer, whichever side holds which.
        elif (answer[0], one_line_break(answer[1])) != (customer.reason_id, one_line_break(customer.reason_text)):
            # A new answer, as `customer_set_reason` records one: an admin's mapping was of the old.
            customer.reason_id, customer.reason_text = answer
            customer.reason_source, customer.reason_answered_at = "import", now
            customer.reason_mapped_to = None
            dirty = True
        if dirty:
            customer.updated_at = now
            changed.append(customer)
        if is_new:
            counts.created += 1
        elif dirty:
            counts.updated += 1
    if problems:
        return
    fields = [
        "name", "email", "acquired_on", "reason", "reason_text", "reason_source",
        "reason_answered_at", "reason_mapped_to", "segment", "acquisition_cost", "language",
        "updated_at",
    ]
    # Known customers are upserted (a bulk update in one statement per batch: their rows are
    # locked). New ones are plainly inserted: one created meanwhile by the API or the admin (they
    # do not take turns with imports) fails the import, to be run again, rather than have this
    # file's empty cells written over its values.
    Customer.objects.bulk_create(
        [c for c in changed if c.pk is not None], batch_size=WRITE_BATCH, update_conflicts=True,
        unique_fields=["external_id"], update_fields=fields,
    )
    Customer.objects.bulk_create([c for c in changed if c.pk is None], batch_size=WRITE_BATCH)
    ids.update(_existing_ids(parsed.keys()))
    dirty_ids = {c.external_id for c in changed}
    for external_id in _write_references(parsed, ids, existing, now=now):
        if external_id not in dirty_ids:
            counts.updated += 1
    if counts.created >= ANALYZE_AFTER and connection.vendor == "postgresql":
        # The planner's row counts are from before the file: with them, the entity refresh's
        # recursive walk picked a nested loop and took 60 s for 20,000 new customers (0.6 s after).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE accounting_customer")
    customers_refresh_entities()
    counts.skipped = counts.total - counts.created - counts.updated


def _write_references(parsed, ids, existing, *, now) -> list[str]:
    """Set parent and referrer once every customer of the file has an id; returns who moved (their
    updated_at with it: bulk_update skips auto_now)."""
    groups: dict[tuple[str, ...], list[Customer]] = {}
    moved = []
    for external_id, (_, clean) in parsed.items():
        wanted = {f"{r}_id": ids[clean[r]] for r in REFERENCES if r in clean}
        before = existing.get(external_id)
        if not wanted or (before and all(getattr(before, k) == v for k, v in wanted.items())):
            continue
        moved.append(external_id)
        groups.setdefault(tuple(sorted(wanted)), []).append(Customer(id=ids[external_id], updated_at=now, **wanted))
    for fields, customers in groups.items():
        columns = [*(f.removesuffix("_id") for f in fields), "updated_at"]
        Customer.objects.bulk_update(customers, columns, batch_size=WRITE_BATCH)
    return moved
