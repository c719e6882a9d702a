"""Revenue and cost lines into the immutable ledger.

Each row is checked in Python as it streams by (customer known, ISO date, amount, reference);
the checks that need every row at once (a reference twice in the file, a reference imported
before with other values) run in the database over a staging table. Two ways in:

- fast path (PostgreSQL): rows are COPYed straight into the ledger while they are being checked,
  the server inserting on one core while Python parses on the other. Any reference already in the
  ledger (a re-import) or twice in the file breaks the unique index; the savepoint rolls back and
- the staging path runs: COPY (or, on SQLite, batched inserts) into a temporary table, the set
  checks, then one INSERT ... SELECT that skips the references already imported.

Two imports sharing references at once: the second waits on each line the first has written, until
the first commits. The fast path writes in file order, so two files listing shared references in
different orders can each wait for the other: PostgreSQL ends the deadlock by failing one, which
then takes the staging path too. The staging path inserts in `external_ref` order, the unique
index's own, so two staging inserts always wait for each other in one order and never deadlock;
one still running into a fast path is rolled back to its savepoint and tried again.

The ledger has no foreign key (see models.LedgerEntry) and PROTECT sees committed lines only, so
once its lines are written, and before they can commit, an import locks the customers they name FOR
KEY SHARE, in one statement, and finds them all still there: a delete that came first has committed
by then (the lock waited for it) and the file is rejected; one that comes later waits for the import
to commit, and the database's delete trigger (rollup_sql.GUARD_INSTALL) then sees the lines and
refuses it. Both paths take their locks in one order: see `_lock_customers`.
"""

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, connection, transaction

from ..models import CostEntry, CostKind, Customer, RevenueEntry
from ..rollup_sql import ENTITY_LOCK
from . import cells
from .problems import CellError, Problems
from .source import RowSource

logger = logging.getLogger(__name__)

STAGE = "cx_import_stage"
SQLITE_BATCH = 5000
STAGE_INSERT_ATTEMPTS = 5  # a deadlock with a fast path: each retry finds that import further on


@dataclass(frozen=True)
class LedgerKind:
    model: type
    # The columns after customer, date, amount, external_ref, each with the parser of its cell.
    extra: tuple[tuple[str, Callable[[str], str]], ...]

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.extra)


def _text_200(value: str) -> str:
    return cells.text(value, 200)


_COST_KINDS = dict(CostKind.choices)


def _cost_kind(value: str) -> str:
    return cells.choice(value or CostKind.SERVE, _COST_KINDS, "cost kind")


REVENUE = LedgerKind(RevenueEntry, (("product", _text_200),))
COSTS = LedgerKind(CostEntry, (("kind", _cost_kind), ("description", _text_200)))


@dataclass
class Counts:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    message: str = ""  # a success in the kind's own words, instead of the generic line
    erased: int = 0  # customer rows whose personal cells were ignored: the customer was erased


def _checked(
    kind: LedgerKind, rows: Iterator, customer_ids: dict, problems: Problems, counts: Counts, named: set
):
    """Yield (row, customer_id, date, amount, external_ref, *extra) for every valid row; `named`
    collects the ids of their customers."""
    for number, values in rows:
        counts.total += 1
        customer, date, amount, ref = values[:4]
        ok = True
        customer_id = customer_ids.get(customer)
        if customer_id is None:
            message = f"unknown customer '{customer}'" if customer else "a customer external id is required"
            problems.add(number, "customer", message)
            ok = False
        try:
            date = cells.iso_date(date)
        except CellError as exc:
            problems.add(number, "date", str(exc))
            ok = False
        try:
            amount = cells.amount(amount)
        except CellError as exc:
            problems.add(number, "amount", str(exc))
            ok = False
        try:
            ref = cells.text(ref, 200, required=True)
        except CellError as exc:
            problems.add(number, "external_ref", str(exc))
            ok = False
        extra = []
        for (name, parse), value in zip(kind.extra, values[4:], strict=True):
            try:
                extra.append(parse(value))
            except CellError as exc:
                problems.add(number, name, str(exc))
                ok = False
        if ok:
            named.add(customer_id)
            yield (number, customer_id, date, amount, ref, *extra)


def import_ledger(kind: LedgerKind, source: RowSource, problems: Problems, batch_id: int) -> Counts:
    """Validate and load; leaves the caller to roll back when `problems` is not empty."""
    customer_ids = dict(Customer.objects.values_list("external_id", "id").iterator(chunk_size=20_000))
    if connection.vendor == "postgresql":
        counts, named = Counts(), set()
        try:
            with transaction.atomic():
                rows = _checked(kind, source(), customer_ids, problems, counts, named)
                _copy_into_ledger(kind, rows, problems, batch_id)
                # A customer deleted since it was read: the staging path names its rows.
                if problems or _lock_customers(named):
                    raise _FullCheckNeeded
                counts.created = counts.total
                return counts
        except Exception as exc:
            if not _needs_staging(exc):
                raise
            problems.clear()  # the staging path reads the rows again and finds everything anew
    counts, named = Counts(), set()
    _fill_stage(kind, _checked(kind, source(), customer_ids, problems, counts, named))
    _stage_set_checks(kind, problems)
    if not problems:
        counts.created = _insert_from_stage(kind, batch_id)
        counts.skipped = counts.total - counts.created
        # After the insert, as on the fast path (the lock order: see `_lock_customers`).
        _check_customers_kept(named, customer_ids, problems)
        # Another import of the same references may have committed while the insert waited on
        # them (a deadlock's loser always runs this path beside its winner): the insert skipped
        # those lines, and only now, in a new snapshot, can their values be compared.
        _check_against_ledger(kind, problems)
    _drop_stage()
    return counts


class _FullCheckNeeded(Exception):
    """The fast path met a bad row, or a customer deleted meanwhile: the staging path lists every
    problem of the file."""


def _lock_customers(named: set) -> set:
    """Lock the customers FOR KEY SHARE until the import commits; the ids of those now gone.

    One statement for the whole file (a foreign key would check each line: see
    models.LedgerEntry), in id order. SQLite needs no lock: the import's transaction has read
    the customers, and no other connection can commit a write until it ends.
    """
    if not named or connection.vendor != "postgresql":
        return set()
    # One text parameter: adapting 100,000 ints one by one took longer than the lock itself.
    ids = "{" + ",".join(map(str, named)) + "}"
    with connection.cursor() as cursor:
        # Every import takes its locks in one order, so none waits for another that waits for it:
        # the ledger's lines (COPY or INSERT), the entity-move lock "cxrq" shared, then customer
        # rows in id order, last. Revenue's roll-up trigger took "cxrq" already; costs take it here.
        # A customer import that moves customers takes "cxrq" exclusively before its row locks
        # (`customers_lock_tree`), and locks its customers FOR UPDATE in id order too.
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", ENTITY_LOCK)
        cursor.execute(
            """SELECT count(*) FROM (SELECT 1 FROM accounting_customer WHERE id = ANY(%s::bigint[])
                                     ORDER BY id FOR KEY SHARE) locked""",
            [ids],
        )
        if cursor.fetchone()[0] == len(named):
            return set()
        # Deleted since they were read (the lock waited for the delete to commit): a new snapshot.
        cursor.execute(
            """SELECT n.id FROM unnest(%s::bigint[]) AS n(id)
               WHERE NOT EXISTS (SELECT 1 FROM accounting_customer c WHERE c.id = n.id)""",
            [ids],
        )
        return {row[0] for row in cursor.fetchall()}


def _check_customers_kept(named: set, customer_ids: dict, problems: Problems) -> None:
    """Lock the staged lines' customers; a problem on each line of one deleted meanwhile."""
    gone = _retrying_deadlocks(lambda: _lock_customers(named))  # a bulk delete locks in its own order
    if not gone:
        return
    external = {pk: external_id for external_id, pk in customer_ids.items() if pk in gone}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT line, customer_id FROM {STAGE} WHERE customer_id = ANY(%s) ORDER BY line",  # noqa: S608
            [list(gone)],
        )
        for line, pk in cursor.fetchall():
            problems.add(line, "customer", f"unknown customer '{external[pk]}' (deleted during this import)")


def _needs_staging(exc: Exception) -> bool:
    """A bad row, a reference already in the ledger or twice in the file, or a deadlock with an
    import of the same references in another order: the staging path sorts out each of them."""
    # COPY runs on psycopg's own cursor, outside Django's error wrapping.
    import psycopg

    return isinstance(exc, IntegrityError | psycopg.IntegrityError | _FullCheckNeeded) or _is_deadlock(exc)


def _is_deadlock(exc: BaseException) -> bool:
    from psycopg.errors import DeadlockDetected

    return isinstance(exc, DeadlockDetected) or isinstance(exc.__cause__, DeadlockDetected)


def _ledger_columns(kind: LedgerKind) -> list[str]:
    return ["customer_id", "date", "amount", "external_ref", *kind.extra_columns]


def _copy_into_ledger(kind: LedgerKind, rows, problems: Problems, batch_id: int) -> None:
    table = kind.model._meta.db_table
    columns = ", ".join([*_ledger_columns(kind), "import_batch_id"])
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
        for row in rows:
            if not problems:  # after the first problem keep checking, stop writing
                copy.write_row((*row[1:], batch_id))


def _fill_stage(kind: LedgerKind, rows) -> None:
    """Stage every valid row, even in a file with bad ones, so the set checks see them all."""
    extra = ", ".join(f"{name} varchar(200)" for name in kind.extra_columns)
    definition = (
        f"line integer, customer_id bigint, date date, amount numeric(14, 2), "
        f"external_ref varchar(200), {extra}"
    )
    names = ", ".join(["line", *_ledger_columns(kind)])
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({definition}) ON COMMIT DROP")
            with cursor.cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} ({definition})")
        insert = f"INSERT INTO {STAGE} ({names}) VALUES ({', '.join(['%s'] * (5 + len(kind.extra_columns)))})"  # noqa: S608
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == SQLITE_BATCH:
                cursor.executemany(insert, chunk)
                chunk = []
        if chunk:
            cursor.executemany(insert, chunk)


def _stage_set_checks(kind: LedgerKind, problems: Problems) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT s.line, s.external_ref, d.first_line FROM {STAGE} s
                JOIN (SELECT external_ref, MIN(line) AS first_line FROM {STAGE}
                      GROUP BY external_ref HAVING COUNT(*) > 1) d
                  ON d.external_ref = s.external_ref
                WHERE s.line > d.first_line ORDER BY s.line"""  # noqa: S608
        )
        for line, ref, first in cursor.fetchall():
            problems.add(line, "external_ref", f"'{ref}' appears twice in the file (first on row {first})")
    _check_against_ledger(kind, problems)


def _check_against_ledger(kind: LedgerKind, problems: Problems) -> None:
    table = kind.model._meta.db_table
    differs = " OR ".join(
        f"r.{name} <> s.{name}" for name in ["customer_id", "date", "amount", *kind.extra_columns]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT s.line, s.external_ref FROM {STAGE} s
                JOIN {table} r ON r.external_ref = s.external_ref
                WHERE {differs} ORDER BY s.line"""  # noqa: S608
        )
        for line, ref in cursor.fetchall():
            problems.add(
                line, "external_ref",
                f"'{ref}' was imported before with other values; ledger entries never change: "
                "record the correction as a new line with its own external_ref",
            )


def _insert_from_stage(kind: LedgerKind, batch_id: int) -> int:
    return _retrying_deadlocks(lambda: _insert_stage_rows(kind, batch_id))


def _retrying_deadlocks(step: Callable):
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                return step()
        except OperationalError as exc:
            if not _is_deadlock(exc) or attempt == STAGE_INSERT_ATTEMPTS:
                raise
        logger.info("Ledger import deadlocked with another transaction (attempt %s); trying again", attempt)
        time.sleep(0.1 * attempt)  # the transaction it met moves on meanwhile
        attempt += 1


def _insert_stage_rows(kind: LedgerKind, batch_id: int) -> int:
    """One INSERT ... SELECT, in `external_ref` order: see the module's docstring."""
    table = kind.model._meta.db_table
    columns = ", ".join(_ledger_columns(kind))
    select = f"SELECT {columns}, %s FROM {STAGE} ORDER BY external_ref"  # noqa: S608
    if connection.vendor == "postgresql":
        sql = f"INSERT INTO {table} ({columns}, import_batch_id) {select} ON CONFLICT (external_ref) DO NOTHING"
    else:
        sql = f"INSERT OR IGNORE INTO {table} ({columns}, import_batch_id) {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [batch_id])
        return cursor.rowcount


def _drop_stage() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
