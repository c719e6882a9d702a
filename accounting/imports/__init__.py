"""Imports of customers, revenue and costs (SPEC §2, §7): one validation path for every source.
Historical survey responses (kind "responses": the command and the upload) take it too; their
rows are checked and written by `surveys.importing.load_responses`.

    import_file(kind=..., file=..., filename=..., source="ui"|"command", user=None) -> ImportBatch
    import_records(kind=..., records=[{column: value}, ...], source="api", user=None) -> ImportBatch

A file with any bad row is rejected whole: the batch is REJECTED, `batch.errors` lists every
problem by row and column, and nothing else is written. Rows are numbered as a spreadsheet
numbers them (the header is row 1; a quoted cell with line breaks stays in one row, so after one
the row is no longer the file line); for API records, row N is the Nth record.
"""

from .columns import COLUMNS
from .runner import import_file, import_records

__all__ = ["COLUMNS", "import_file", "import_records"]
