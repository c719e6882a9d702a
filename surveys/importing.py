"""`manage.py import_responses`: historical NPS answers from another tool (SPEC §7).

Header `customer,survey,score,answered_at,comment,touchpoint`. Each row becomes one invitation
(responded, sent and answered at `answered_at`, no email sent) and its response (source import).
A survey named in the file and missing here is created as an imported relationship survey.

An import like the others: `accounting.imports.import_file(kind="responses")` records the file as
an ImportBatch (who, when, file name and SHA-256, counts, every error) and calls `load_responses`
inside its transaction. All or nothing: every row is checked first (through the accounting
import's CSV reader, so header, cell-count and UTF-8 problems read the same); any problem rejects
the file with every error by row (as a spreadsheet numbers them, the header is row 1) and column,
and nothing is written.

Re-importing adds nothing: each row's invitation keeps in `reference` a key derived from
(customer, survey name, answered_at as written) — `import:<sha256>` — and rows whose key is
already stored are skipped. So a corrected score for an answer imported before is skipped too, not
applied. The key hashes the cell, not the instant it is read as: a time without an offset (or a
date alone) is read in TIME_ZONE, and setting TIME_ZONE later must not make old rows new. Imports
before this rule stored the key of the instant (in UTC); a row matches it only when read as that
same instant, so a time without an offset imported then under another TIME_ZONE than today's (UTC
included) is imported again. Its wall-clock time read in that other zone is not looked up: it is
another instant, whose key an answer written with an offset stores too (a row `10:00` read in
Paris is not the answer `10:00+00:00`, an hour later). Two runs at once (PostgreSQL) take turns
under one advisory lock, so the second sees the first's rows as already there instead of failing
on their unique keys.
"""

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from django.db import connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounting.imports import cells, import_file
from accounting.imports.columns import RESPONSE_COLUMNS
from accounting.imports.ledger import Counts
from accounting.imports.problems import CellError, Problems
from accounting.imports.source import RowSource
from accounting.models import Customer, ImportBatch, ImportKind, ImportStatus

from .models import (
    Invitation,
    InvitationState,
    Response,
    ResponseSource,
    Survey,
    SurveyKind,
    SurveyStatus,
    category_for,
    hash_token,
    new_token_salt,
    token_from_salt,
)

COLUMNS = RESPONSE_COLUMNS
KEY_PREFIX = "import:"
BATCH = 2000
LOOKUP_CHUNK = 5000  # ids per IN (...) query: under SQLite's variable limit
IMPORTING_RESPONSES = 0x63786972  # advisory lock key (surveys.launch holds 0x6378696E and 0x63786931)


@dataclass(frozen=True)
class AnsweredAt:
    instant: dt.datetime  # in UTC
    wall: dt.datetime | None  # the cell's own time when it has no offset (a date alone: midnight)

    @property
    def written(self) -> str:
        """The cell as written, normalised: wall-clock time, or the UTC instant of a time with an
        offset (its offset names the instant without any zone, so it is kept as keys always were)."""
        return (self.wall or self.instant).isoformat()


@dataclass
class Row:
    number: int
    customer: Customer
    survey: str
    score: int
    answered_at: AnsweredAt
    comment: str
    touchpoint: str

    def _key(self, when: str, external_id: str | None = None) -> str:
        raw = "\x1f".join([external_id or self.customer.external_id, self.survey, when])
        return KEY_PREFIX + hashlib.sha256(raw.encode()).hexdigest()

    @cached_property
    def key(self) -> str:
        """What the row's invitation stores: the same whatever TIME_ZONE says."""
        return self._key(self.answered_at.written)

    @cached_property
    def instant_key(self) -> str:
        """The key of the instant the row is read as. Two rows of one file with the same one are
        one answer; and it is what imports stored before keys hashed the cell as written (a time
        without an offset then hashed its instant in that run's TIME_ZONE)."""
        return self._key(self.answered_at.instant.isoformat())

    @cached_property
    def keys(self) -> set[str]:
        """Every key that means "already there": the row's own and its instant's; never that of
        its wall-clock time read in another zone, another instant (module docstring)."""
        keys = {self.key, self.instant_key}
        # An id stored decomposed (NFD, as macOS writes) until migration accounting 0016 put it in
        # NFC: answers imported under it were keyed by that spelling.
        decomposed = unicodedata.normalize("NFD", self.customer.external_id)
        if decomposed != self.customer.external_id:
            keys |= {self._key(self.answered_at.written, decomposed),
                     self._key(self.answered_at.instant.isoformat(), decomposed)}
        return keys


class Outcome:
    """What `import_responses` did, read from its ImportBatch."""

    def __init__(self, batch: ImportBatch):
        self.batch = batch

    @property
    def ok(self) -> bool:
        return self.batch.status == ImportStatus.SUCCEEDED

    @property
    def created(self) -> int:
        return self.batch.rows_created

    @property
    def skipped(self) -> int:
        return self.batch.rows_skipped

    @cached_property
    def problems(self) -> Problems:
        listed = [(e.row, e.column, e.message) for e in self.batch.errors.all()]
        return Problems(listed=listed, count=self.batch.error_count)


def import_responses(binary, *, filename: str = "", source: str = "command", user=None) -> Outcome:
    """Import a CSV file object opened in binary mode, recorded as every import is."""
    return Outcome(
        import_file(kind=ImportKind.RESPONSES, file=binary, filename=filename, source=source, user=user)
    )


def load_responses(source: RowSource, problems: Problems) -> Counts:
    """Check the whole file, then write it, or write nothing (`import_file`'s transaction)."""
    # Rows of the wrong shape are reported and left out; the others are still checked, so that
    # one run lists every error of the file.
    raw = list(source())
    counts = Counts(total=len(raw))
    rows = _parse_rows(raw, _customers({values[0] for _, values in raw}), problems)
    _check_not_anonymous(rows, problems)
    if not problems:
        _write(rows, problems, counts)
    return counts


# --- Checking ------------------------------------------------------------------------------------


def _customers(external_ids: set[str]) -> dict[str, Customer]:
    ids = sorted(external_ids)
    found: dict[str, Customer] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        for customer in Customer.objects.filter(external_id__in=ids[start : start + LOOKUP_CHUNK]):
            found[customer.external_id] = customer
    return found


def _parse_rows(raw, customers: dict[str, Customer], problems: Problems) -> list[Row]:
    rows, seen = [], {}
    for number, values in raw:
        row = _parse_row(number, dict(zip(COLUMNS, values, strict=True)), customers, problems)
        if row is None:
            continue
        if (first := seen.setdefault(row.instant_key, number)) != number:
            problems.add(number, "answered_at", f"the same customer, survey and answered_at as row {first}")
            continue
        rows.append(row)
    return rows


def _parse_row(number: int, values: dict[str, str], customers, problems: Problems) -> Row | None:
    parsers = {
        "customer": lambda v: _customer(v, customers),
        "survey": lambda v: cells.text(v, 200, required=True),
        "score": _score,
        "answered_at": _answered_at,
        "comment": lambda v: cells.text(v, 10_000),
        "touchpoint": lambda v: cells.text(v, 100),
    }
    parsed, bad = {}, False
    for column, parse in parsers.items():
        try:
            parsed[column] = parse(values[column])
        except CellError as exc:
            problems.add(number, column, str(exc))
            bad = True
    return None if bad else Row(number=number, **parsed)


def _check_not_anonymous(rows: list[Row], problems: Problems, surveys=None) -> None:
    """Each imported answer names its customer, and its invitation carries the answer's time: in an
    anonymous survey that time would tie every answer to its customer (SPEC §1: nobody may).

    `surveys`: the rows' surveys as locked for the write (the check again, against a survey made
    anonymous meanwhile); without it, read now."""
    if surveys is None:
        surveys = Survey.objects.filter(name__in={row.survey for row in rows})
    anonymous = {survey.name for survey in surveys if survey.anonymous}
    for row in rows:
        if row.survey in anonymous:
            problems.add(row.number, "survey", f"'{row.survey}' is an anonymous survey: answers that name their "
                         "customer cannot be imported into it")


def _customer(value: str, customers: dict[str, Customer]) -> Customer:
    if not value:
        raise CellError("a customer external id is required")
    if value not in customers:
        raise CellError(f"unknown customer '{value}'")
    return customers[value]


def _score(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > 10:
        raise CellError(f"'{value}' is not a score: use a whole number from 0 to 10")
    return int(value)


def _answered_at(value: str) -> AnsweredAt:
    """ISO date (midnight) or datetime; without an offset, in the default time zone."""
    if not value:
        raise CellError("a date or date and time is required (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM])")
    try:
        parsed = dt.datetime.fromisoformat(cells.iso_date(value) if len(value) == 10 else value)
    except ValueError:
        raise CellError(f"'{value}' is not an ISO date or date and time") from None
    wall = parsed if timezone.is_naive(parsed) else None
    if wall is not None:
        parsed = timezone.make_aware(parsed)
    if parsed > timezone.now():
        raise CellError(f"'{value}' is in the future")
    try:
        return AnsweredAt(instant=parsed.astimezone(dt.UTC), wall=wall)
    except OverflowError:  # year 1 east of UTC falls before year 1 in UTC
        raise CellError(f"'{value}' is too far in the past") from None


# --- Writing -------------------------------------------------------------------------------------


def _existing_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        found.update(Invitation.objects.filter(reference__in=chunk).values_list("reference", flat=True))
    return found


def _take_turns() -> None:
    """One response import at a time, until commit: the keys read below stay true while we insert."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [IMPORTING_RESPONSES])


@transaction.atomic
def _write(rows: list[Row], problems: Problems, counts: Counts) -> None:
    _take_turns()
    existing = _existing_keys([key for row in rows for key in row.keys])
    new_rows = [row for row in rows if not row.keys & existing]
    counts.skipped = len(rows) - len(new_rows)
    surveys, created = _surveys({row.survey for row in new_rows})
    _check_not_anonymous(new_rows, problems, surveys.values())
    if problems:
        transaction.set_rollback(True)  # the surveys it created too
        return
    invitations = Invitation.objects.bulk_create(
        [_invitation(row, surveys[row.survey]) for row in new_rows], batch_size=BATCH
    )
    responses = [_response(row, invitation) for row, invitation in zip(new_rows, invitations, strict=True)]
    bulk_create_with_history(responses, Response, batch_size=BATCH)
    counts.created = len(responses)
    counts.message = f"Imported {counts.created} response(s); {counts.skipped} already there."
    if created:
        counts.message += f" Created imported survey(s): {', '.join(created)}."


def _surveys(names: Iterable[str]) -> tuple[dict[str, Survey], list[str]]:
    """The surveys by name, locked, and the names of those created."""
    # Locked until the answers are in: a survey cannot be made anonymous in between (Survey.save).
    existing = Survey.objects.select_for_update(no_key=True).filter(name__in=names).order_by("pk")
    surveys = {survey.name: survey for survey in existing}
    missing = sorted(set(names) - surveys.keys())
    # Closed and flagged imported: it holds history, and launching it would email nobody expected.
    new = [
        Survey(name=name, kind=SurveyKind.RELATIONSHIP, status=SurveyStatus.CLOSED, imported=True)
        for name in missing
    ]
    for survey in bulk_create_with_history(new, Survey):
        surveys[survey.name] = survey
    return surveys, missing


def _invitation(row: Row, survey: Survey) -> Invitation:
    salt = new_token_salt()
    return Invitation(
        survey=survey, customer=row.customer, email=row.customer.email, language=row.customer.language,
        segment=row.customer.segment,
        token_salt=salt, token_hash=hash_token(token_from_salt(salt)),  # bulk_create skips save()
        touchpoint=row.touchpoint, reference=row.key, state=InvitationState.RESPONDED,
        send_after=row.answered_at.instant, sent_at=row.answered_at.instant,
        responded_at=row.answered_at.instant, created_at=row.answered_at.instant,
    )


def _response(row: Row, invitation: Invitation) -> Response:
    return Response(
        invitation=invitation, survey=invitation.survey, customer=row.customer, score=row.score,
        category=category_for(row.score),  # bulk_create skips save(), which sets it
        # An erased customer's (accounting.erasure) words are not taken in again; the score counts.
        reason="" if row.customer.erased_at else row.comment,
        answered_at=row.answered_at.instant, touchpoint=row.touchpoint,
        segment=row.customer.segment, language=row.customer.language, source=ResponseSource.IMPORT,
    )
