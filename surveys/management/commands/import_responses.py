"""manage.py import_responses FILE.csv: historical NPS answers (SPEC §7); all rows or none."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys.importing import COLUMNS, import_responses


class Command(BaseCommand):
    help = (
        f"Import historical NPS answers from a CSV file with the header {','.join(COLUMNS)}. "
        "Any bad row rejects the whole file; rows imported before are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8)")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        with file.open("rb") as handle:
            outcome = import_responses(handle)
        if not outcome.ok:
            self._report_problems(file.name, outcome.problems)
            raise CommandError(f"{file.name} rejected: {outcome.problems.summary()}")
        self.stdout.write(self.style.SUCCESS(self._summary(outcome)))

    def _report_problems(self, filename: str, problems) -> None:
        for row, column, message in sorted(problems.listed, key=lambda p: (p[0] or 0, p[1])):
            where = f"row {row}" if row else "file"
            self.stderr.write(f"{filename}: {where}{f', column {column}' if column else ''}: {message}")

    @staticmethod
    def _summary(outcome) -> str:
        text = f"Imported {outcome.created} response(s); {outcome.skipped} already there."
        if outcome.surveys_created:
            text += f" Created imported survey(s): {', '.join(outcome.surveys_created)}."
        return text
