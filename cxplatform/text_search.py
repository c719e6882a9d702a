"""`ifind`: "contains, ignoring case" for every letter, on both databases the project runs on.

Staff search boxes use it instead of `icontains`, which on SQLite (the embedded default) is LIKE,
and SQLite's LIKE folds ASCII letters only: "équipe" would not find "L'Équipe", nor "ÜBER" "über".

- SQLite: a Python function, registered on each new connection, compares the casefold()ed texts
  (a plain substring test, so "%" and "_" in the search match themselves).
- PostgreSQL (and any other backend): exactly what `icontains` writes, UPPER(col) LIKE UPPER(%s)
  with "%" and "_" escaped, so the query and any index it uses stay the same.
"""

from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import CharField, TextField
from django.db.models.lookups import IContains, Lookup

SQLITE_FUNCTION = "cx_casefold_contains"


def casefold_contains(text, search) -> bool | None:
    """Whether `search` is in `text`, ignoring case in every alphabet; NULL (None) as SQL has it."""
    if text is None or search is None:
        return None
    return str(search).casefold() in str(text).casefold()


class CaseInsensitiveContains(IContains):
    lookup_name = "ifind"

    def as_sql(self, compiler, connection):
        return IContains(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_sqlite(self, compiler, connection):
        # The bare column and value: the function tests containment itself, no LIKE pattern.
        lhs_sql, lhs_params = Lookup.process_lhs(self, compiler, connection)
        rhs_sql, rhs_params = Lookup.process_rhs(self, compiler, connection)
        return f"{SQLITE_FUNCTION}({lhs_sql}, {rhs_sql})", [*lhs_params, *rhs_params]


def register_casefold_function(sender, connection, **kwargs) -> None:
    """connection_created receiver: SQLite connections get the function `ifind` calls."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 2, casefold_contains, deterministic=True)


def register_text_search() -> None:
    """Called once from the app's ready(): the lookup on text fields, the function on connections."""
    CharField.register_lookup(CaseInsensitiveContains)
    TextField.register_lookup(CaseInsensitiveContains)
    connection_created.connect(register_casefold_function, dispatch_uid="cx-casefold-contains")
    for connection in connections.all(initialized_only=True):  # opened before ready(), if any
        if connection.connection is not None:
            register_casefold_function(None, connection)
