"""Every problem found in an import, by row and column."""

from dataclasses import dataclass, field

# Beyond this many, further problems are counted but not listed: such a file is the wrong file,
# and a million identical messages help nobody.
MAX_LISTED = 100_000


class CellError(ValueError):
    """A cell's value is wrong; the message says what was expected."""


def _storable(text: str) -> str:
    """Text PostgreSQL can store: a column name or message may quote a NUL or a lone surrogate."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


@dataclass
class Problems:
    listed: list[tuple[int | None, str, str]] = field(default_factory=list)
    count: int = 0
    # Data rows the reader reported and left out for their shape (a wrong cell count, a cell the
    # database cannot store): no loader sees them, so the runner adds them to the rows read.
    rows_left_out: int = 0

    def add(self, row: int | None, column: str, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append((row, _storable(column), _storable(message)))

    def clear(self) -> None:
        self.listed.clear()
        self.count = 0
        self.rows_left_out = 0  # a second read of the file counts them again

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count

    def summary(self) -> str:
        if self.count <= len(self.listed):
            return f"{self.count} error(s); nothing was imported."
        return (
            f"{self.count} error(s), the first {len(self.listed)} listed; nothing was imported."
        )
