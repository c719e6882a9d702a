"""manage.py import_responses FILE.csv: historical NPS answers (SPEC §7); all rows or none.

Run and recorded as the accounting imports are (an ImportBatch, on the Imports page and in
/api/imports/); the rows are loaded by `surveys.importing.load_responses`."""

from accounting.imports.columns import RESPONSE_COLUMNS
from accounting.management.commands._import_command import ImportCommand
from accounting.models import ImportKind


class Command(ImportCommand):
    help = (
        f"Import historical NPS answers from a CSV file with the header {','.join(RESPONSE_COLUMNS)}. "
        "Any bad row rejects the whole file; rows imported before are skipped."
    )
    kind = ImportKind.RESPONSES
