"""Shared body of the import_* commands: one file in, the outcome or every error out."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounting.imports import import_file
from accounting.models import ImportStatus


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file with the header of SPEC §7")

    def handle(self, *args, file: Path, **options):
        if file.is_dir():
            raise CommandError(f"{file}: is a directory, not a CSV file")
        if file.exists() and not file.is_file():
            raise CommandError(f"{file}: not a regular file")
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        with file.open("rb") as handle:
            batch = import_file(kind=self.kind, file=handle, filename=file.name, source="command")
        if batch.status == ImportStatus.SUCCEEDED:
            self.stdout.write(self.style.SUCCESS(f"Import #{batch.pk}: {batch.message}"))
            return
        for error in batch.errors.iterator():
            where = f"row {error.row}" if error.row else "file"
            column = f", column {error.column}" if error.column else ""
            self.stderr.write(f"{file.name}: {where}{column}: {error.message}")
        raise CommandError(f"Import #{batch.pk} {batch.status}: {batch.message}")
