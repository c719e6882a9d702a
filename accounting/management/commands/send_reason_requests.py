from django.core.management.base import BaseCommand, CommandError

from accounting.tasks import send_reason_requests_to_new_customers

# A century back is every customer; far more overflows the date arithmetic (OverflowError).
MAX_DAYS = 36_500


class Command(BaseCommand):
    help = (
        'Email "why did you choose us?" to customers acquired in the last N days who have an '
        "email address, no acquisition reason and were never asked. Safe to run daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=30, help=f"How far back counts as new (default 30, at most {MAX_DAYS})."
        )

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if days > MAX_DAYS:
            raise CommandError(f"--days must be at most {MAX_DAYS} (100 years), not {days}.")
        asked = send_reason_requests_to_new_customers(days=days)
        plural = "" if asked == 1 else "s"
        self.stdout.write(f"Asked {asked} new customer{plural} why they chose us.")
