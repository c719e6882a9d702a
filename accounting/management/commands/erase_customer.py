from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounting.erasure import customer_erase
from accounting.models import Customer


class Command(BaseCommand):
    help = (
        "Erase the personal data of the customers with these external ids (a GDPR erasure request): "
        "name, email, reason text, their invitations' addresses and the words of their answers, "
        "in the histories and the audit log too. Figures stay as they are. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("external_ids", nargs="+", metavar="EXTERNAL_ID")
        parser.add_argument("--by", metavar="USERNAME", help="The staff user the audit log names as the eraser.")

    def handle(self, *args, external_ids, by=None, **options):
        user = None
        if by is not None:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user named {by!r}; nothing was erased.")
        with transaction.atomic():
            customers = Customer.objects.in_bulk(external_ids, field_name="external_id")
            unknown = [external_id for external_id in dict.fromkeys(external_ids) if external_id not in customers]
            if unknown:
                raise CommandError(f"Unknown customer external id(s): {', '.join(unknown)}; nothing was erased.")
            erasures = [customer_erase(customer=customers[e], by=user) for e in dict.fromkeys(external_ids)]
        for erasure in erasures:
            self.stdout.write(erasure.summary())
