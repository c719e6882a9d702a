import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounting.data_export import customer_export_logged
from accounting.models import Customer


class Command(BaseCommand):
    help = (
        "Export everything the platform holds about the customer with this external id (a GDPR access "
        "request), as JSON: its fields, ledger, reason links, invitations, answers (not those to anonymous "
        "surveys) and suppressed addresses. The export is recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("external_id", metavar="EXTERNAL_ID")
        parser.add_argument("--output", metavar="FILE", help="Write the JSON to FILE (UTF-8) instead of stdout.")
        parser.add_argument("--by", metavar="USERNAME", help="The staff user the audit log names as the exporter.")

    def handle(self, *args, external_id, output=None, by=None, **options):
        user = None
        if by is not None:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user named {by!r}; nothing was exported.")
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is None:
            raise CommandError(f"Unknown customer external id: {external_id}; nothing was exported.")
        text = json.dumps(customer_export_logged(customer=customer, by=user), indent=2, ensure_ascii=False)
        if output is None:
            self.stdout.write(text)
            return
        Path(output).write_text(text + "\n", encoding="utf-8")
        self.stdout.write(f"{customer.external_id}: personal data exported to {output}.")
