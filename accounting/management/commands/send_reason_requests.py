from django.core.management.base import BaseCommand, CommandError

from accounting.tasks import send_reason_requests_to_new_customers


class Command(BaseCommand):
    help = (
        'Email "why did you choose us?" to customers acquired in the last N days who have an '
        "email address, no acquisition reason and were never asked. Safe to run daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=30, help="How far back counts as new (default 30)."
        )

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        asked = send_reason_requests_to_new_customers(days=days)
        plural = "" if asked == 1 else "s"
        self.stdout.write(f"Asked {asked} new customer{plural} why they chose us.")
