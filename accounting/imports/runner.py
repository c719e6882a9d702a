"""One import, from any source: record it, validate and load in one transaction, keep the outcome."""

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from cxplatform.reconnect import CONNECTION_LOST, first_line, written_after_reconnecting

from ..models import ImportBatch, ImportKind, ImportRowError, ImportStatus
from .columns import COLUMNS
from .customers import import_customers
from .ledger import COSTS, REVENUE, Counts, import_ledger
from .problems import Problems
from .source import RowSource, csv_rows, record_rows

logger = logging.getLogger(__name__)
ERROR_BATCH = 5000
DATABASE_LOST = (
    "Import failed: the database connection was lost ({error}); nothing was imported. Import the file again."
)

# Kinds whose file, once imported, can be skipped when it comes again unchanged: ledger lines are
# immutable and deduplicated by external_ref, so applying the file again would add nothing.
# Customers are mutable records (SPEC §7: a known external_id is updated), so their files are
# always applied: re-importing an old file restores its values after later edits.
# Historical answers are always checked again row by row (a keyed lookup, cheap): a second run
# reports each row as "already there", as `import_responses` always did.
SKIP_IDENTICAL = frozenset({ImportKind.REVENUE, ImportKind.COSTS})


class Rejected(Exception):
    """Raised inside the transaction to undo every write of a file with problems."""


def _load(kind: str, source: RowSource, problems: Problems, batch_id: int) -> Counts:
    if kind == ImportKind.CUSTOMERS:
        return import_customers(source, problems, batch_id)
    if kind == ImportKind.RESPONSES:
        # surveys builds on accounting (its answers name customers): imported here, not at the top.
        from surveys.importing import load_responses

        return load_responses(source, problems)
    return import_ledger(REVENUE if kind == ImportKind.REVENUE else COSTS, source, problems, batch_id)


def import_file(*, kind: str, file, filename: str = "", source: str, user=None) -> ImportBatch:
    """Import a CSV file object opened in binary mode (an upload, or a file on disk)."""
    _check_kind(kind)
    batch = _start(kind, source, filename, user, sha256=_sha256(file))
    previous = _identical_success(batch)
    if previous is not None:
        same = Counts(total=previous.rows_total, skipped=previous.rows_total)
        return _finish(
            batch, ImportStatus.SUCCEEDED, same, Problems(),
            f"Identical to import #{previous.pk}; nothing was added.",
        )
    problems = Problems()
    return _run(batch, csv_rows(file, COLUMNS[kind], problems), problems)


def import_records(*, kind: str, records, source: str = "api", user=None) -> ImportBatch:
    """Import a list of records keyed by the CSV columns (the API bulk endpoints).

    A record of the wrong shape does not stop the validation: a rejected request lists every
    error of every row at once, the shape's and the values'."""
    _check_kind(kind)
    batch = _start(kind, source, "", user, sha256="")
    shape = Problems()
    rows = record_rows(records, COLUMNS[kind], shape)
    return _run(batch, rows, Problems(), shape=shape)


def _check_kind(kind: str) -> None:
    if kind not in COLUMNS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {', '.join(COLUMNS)}")


def _run(batch: ImportBatch, source: RowSource, problems: Problems, shape: Problems | None = None) -> ImportBatch:
    """`shape`: the problems record_rows found before any row was validated (see `_with_shape`)."""
    counts = Counts()
    try:
        with transaction.atomic():
            counts = _load(batch.kind, source, problems, batch.pk)
            # The rows the reader left out for their shape were read too ("Rows N read").
            counts.total += problems.rows_left_out + (shape.rows_left_out if shape else 0)
            if shape:
                problems = _with_shape(shape, problems)
            if problems:
                raise Rejected
    except Rejected:
        return _finish(batch, ImportStatus.REJECTED, counts, problems, problems.summary())
    except CONNECTION_LOST as exc:
        # The database went away mid-import (a restart): the transaction went with the connection.
        # The outcome is recorded on a new one, not left "running" for the stale-import sweeper.
        message = DATABASE_LOST.format(error=first_line(exc))
        logger.error("Import #%s failed: database connection lost (%s)", batch.pk, first_line(exc))
        return written_after_reconnecting(
            lambda: _finish(batch, ImportStatus.FAILED, Counts(), problems, message), what=f"import #{batch.pk} failed"
        )
    except Exception as exc:
        logger.exception("import #%s failed", batch.pk)
        return _finish(batch, ImportStatus.FAILED, Counts(), problems, f"Import failed: {exc}")
    return _finish(batch, ImportStatus.SUCCEEDED, counts, problems, _done_message(counts))


def _with_shape(shape: Problems, values: Problems) -> Problems:
    """Every problem of the records. A cell of the wrong shape went to the validators emptied:
    its own problem stands, not theirs of the empty cell ("a value is required")."""
    emptied = {(row, column) for row, column, _ in shape.listed}
    merged = Problems()
    for row, column, message in shape.listed:
        merged.add(row, column, message)
    for row, column, message in values.listed:
        if (row, column) not in emptied:
            merged.add(row, column, message)
    merged.count += (shape.count - len(shape.listed)) + (values.count - len(values.listed))  # beyond the list
    return merged


def _done_message(counts: Counts) -> str:
    if counts.message:
        return counts.message
    erased = (
        f" {counts.erased} row(s) name a customer whose personal data was erased: their name, email, "
        "reason and reason_text cells were ignored."
        if counts.erased else ""
    )
    return (
        f"{counts.total} row(s): {counts.created} added, {counts.updated} updated, "
        f"{counts.skipped} already there.{erased}"
    )


def _start(kind, source, filename, user, sha256) -> ImportBatch:
    return ImportBatch.objects.create(
        kind=kind, source=source, filename=filename[:255], sha256=sha256,
        created_by=user if user is not None and user.is_authenticated else None,
    )


def _identical_success(batch: ImportBatch) -> ImportBatch | None:
    if not batch.sha256 or batch.kind not in SKIP_IDENTICAL:
        return None
    return (
        ImportBatch.objects.filter(
            kind=batch.kind, sha256=batch.sha256, status=ImportStatus.SUCCEEDED
        ).exclude(pk=batch.pk).order_by("started_at").first()
    )


def _sha256(file) -> str:
    if not hasattr(file, "seek"):
        return ""
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def _finish(batch, status, counts: Counts, problems: Problems, message: str) -> ImportBatch:
    batch.status = status
    batch.rows_total = counts.total
    batch.rows_created = counts.created if status == ImportStatus.SUCCEEDED else 0
    batch.rows_updated = counts.updated if status == ImportStatus.SUCCEEDED else 0
    batch.rows_skipped = counts.skipped if status == ImportStatus.SUCCEEDED else 0
    batch.error_count = problems.count
    batch.message = message
    batch.finished_at = timezone.now()
    with transaction.atomic():
        batch.save()
        rows = (
            ImportRowError(batch=batch, row=row, column=column[:100], message=text)
            for row, column, text in problems.listed
        )
        ImportRowError.objects.bulk_create(rows, batch_size=ERROR_BATCH)
    return batch
