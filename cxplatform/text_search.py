"""`ifind`: "contains, ignoring case and accents", on both databases the project runs on.

Staff search boxes use it instead of `icontains`, which ignores no accent on either database and, on
SQLite (the embedded default), the case of ASCII letters only: "equipe" would not find "L'Équipe",
nor "muller" "Müller", nor "ÜBER" "über". Both sides are folded: "MÜLLER" finds "muller" too.

- PostgreSQL: `icontains` of UNACCENT() of both sides, UPPER(UNACCENT(col)) LIKE '%' ||
  UPPER(UNACCENT(%s), "%", "_" and "\\" escaped) || '%', through the unaccent extension (migration
  cxplatform 0004). The search is escaped in SQL, after UNACCENT(), which writes a full-width "％" as
  "%". UNACCENT() is STABLE, not IMMUTABLE: no index could hold it, and none is lost (a LIKE '%…%'
  reads every row, as before).
- SQLite: a Python function, registered on each new connection, tests whether fold(search) is in
  fold(text) (a plain substring test, so "%" and "_" in the search match themselves).

`fold` agrees with UPPER(UNACCENT()) on the letters of Latin-1 Supplement and Latin Extended-A, on
Vietnamese, modern Greek and Cyrillic (a test holds it to PostgreSQL's answers). Elsewhere they may
differ: on PostgreSQL unaccent also writes typographic quotes and dashes in ASCII ("’" as "'"), on
SQLite NFKD also folds superscripts and the like ("²" as "2").
"""

import functools
import re
import unicodedata

from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import CharField, Func, TextField, Value
from django.db.models.lookups import IContains, Lookup

SQLITE_FUNCTION = "cx_fold_contains"

# Letters NFKD leaves whole that unaccent writes in other letters ("Øresund" as "Oresund"; kra as "q").
_UNACCENT_LETTERS = str.maketrans({
    "Æ": "AE", "æ": "ae", "Ð": "D", "ð": "d", "Ø": "O", "ø": "o", "Þ": "TH", "þ": "th", "Đ": "D", "đ": "d",
    "Ħ": "H", "ħ": "h", "ı": "i", "ĸ": "q", "Ŀ": "L", "ŀ": "l", "Ł": "L", "ł": "l", "ŉ": "'n", "Ŋ": "N",
    "ŋ": "n", "Œ": "OE", "œ": "oe", "Ŧ": "T", "ŧ": "t", "Ё": "Е", "ё": "е",
})
# The combining diacritical marks, but those of a Cyrillic letter, which unaccent keeps: "й" is not
# "и". The marks after a mark belong to the same letter.
_ACCENTS = re.compile("(?<![\u0300-\u036f\u0400-\u052f])[\u0300-\u036f]+")
_ASCII = frozenset(map(chr, range(128)))


def _fold_character(char: str) -> str:
    # NFKD splits the accents off ("é" is "e" and U+0301) and the compatibility forms ("ﬁ", "Ａ");
    # casefold may leave what NFKD splits ("İ" is "i̇"); a letter of the table may be under an accent
    # ("Ǿ"). NFC joins what kept its marks again: "й", a Hangul syllable, "が".
    text = unicodedata.normalize("NFKD", char.translate(_UNACCENT_LETTERS))
    text = unicodedata.normalize("NFKD", text.casefold().translate(_UNACCENT_LETTERS))
    return unicodedata.normalize("NFC", _ACCENTS.sub("", text))


class _FoldedCharacters(dict):
    """Each character's folding, computed the first time it is met."""

    def __missing__(self, char):
        folded = self[char] = _fold_character(char)
        return folded


_FOLDED = _FoldedCharacters()


def fold(text: str) -> str:
    """`text` as the search compares it: without accents, case folded. Character by character, as
    unaccent goes: a combining accent written apart (NFD) goes too, whatever letter it follows."""
    text = text.lower()
    if text.isascii():
        return text
    # A replace() per distinct character: normalizing each whole text was 6 times slower.
    for char in set(text).difference(_ASCII):
        text = text.replace(char, _FOLDED[char])
    return text


_fold_search = functools.lru_cache(maxsize=64)(fold)  # one search, row after row


def folded_contains(text, search) -> bool | None:
    """Whether `search` is in `text`, ignoring case and accents; NULL (None) as SQL has it."""
    if text is None or search is None:
        return None
    return _fold_search(str(search)) in fold(str(text))


class Unaccent(Func):
    function = "UNACCENT"


class FoldedContains(IContains):
    lookup_name = "ifind"

    def as_sql(self, compiler, connection):  # a backend the project does not run on: icontains
        return IContains(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        # An expression on the right: icontains escapes it in SQL, after UNACCENT(), not before.
        search = self.rhs if hasattr(self.rhs, "resolve_expression") else Value(self.rhs)
        return IContains(Unaccent(self.lhs), Unaccent(search)).as_sql(compiler, connection)

    def as_sqlite(self, compiler, connection):
        # The bare column and value: the function tests containment itself, no LIKE pattern.
        lhs_sql, lhs_params = Lookup.process_lhs(self, compiler, connection)
        rhs_sql, rhs_params = Lookup.process_rhs(self, compiler, connection)
        return f"{SQLITE_FUNCTION}({lhs_sql}, {rhs_sql})", [*lhs_params, *rhs_params]


def register_fold_function(sender, connection, **kwargs) -> None:
    """connection_created receiver: SQLite connections get the function `ifind` calls."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 2, folded_contains, deterministic=True)


def register_text_search() -> None:
    """Called once from the app's ready(): the lookup on text fields, the function on connections."""
    CharField.register_lookup(FoldedContains)
    TextField.register_lookup(FoldedContains)
    connection_created.connect(register_fold_function, dispatch_uid="cx-fold-contains")
    for connection in connections.all(initialized_only=True):  # opened before ready(), if any
        if connection.connection is not None:
            register_fold_function(None, connection)
