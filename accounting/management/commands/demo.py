"""`manage.py demo`: load the deterministic demo data set and the three demo logins (SPEC §7)."""

import datetime as dt
import os
import re
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import ProtectedError
from django.utils import timezone

from accounting.demo import (
    DEMO_PREFIX,
    DemoError,
    demo_customers,
    demo_delete,
    demo_exists,
    demo_load,
    demo_users_reset,
)
from accounting.models import CostEntry, Customer, RevenueEntry
from surveys.demo import (
    demo_live_invitations,
    demo_surveys_delete,
    demo_surveys_exist,
    demo_surveys_load,
    other_surveys_of,
)
from surveys.models import Invitation, InvitationState, Response


def parse_month(value: str) -> dt.date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not match or not 1 <= int(match[2]) <= 12:
        raise CommandError(f"--until must be a month as YYYY-MM, e.g. 2026-06 (got {value!r}).")
    return dt.date(int(match[1]), int(match[2]), 1)


def last_full_month() -> dt.date:
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def analyze_demo_tables() -> None:
    """Give the planner the new rows' statistics now: the dashboards are read at once, and
    until (auto)vacuum analyses them PostgreSQL counts the tables as empty and picks nested loops
    (the NPS dashboard's "latest answer" took 6 s instead of 0.4 s)."""
    tables = [model._meta.db_table for model in (Customer, RevenueEntry, CostEntry, Invitation, Response)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def mailbox() -> str:
    """Where EMAIL_BACKEND leaves the demo's emails, as the summary names it."""
    if settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
        path = Path(settings.EMAIL_FILE_PATH)
        shown = path.relative_to(settings.BASE_DIR) if path.is_relative_to(settings.BASE_DIR) else path
        return f"{shown}{os.sep}"
    return f"wherever EMAIL_BACKEND ({settings.EMAIL_BACKEND}) delivers"


def would_load(*, reset: bool) -> bool:
    """Whether this run writes demo rows: a re-run on loaded demo data writes none."""
    return reset or not demo_exists() or not demo_surveys_exist()


def refuse_beside_real_customers() -> None:
    # The demo's customers, ledger and answers would count in the same reports as the real ones.
    real = Customer.objects.exclude(external_id__startswith=DEMO_PREFIX).count()
    if real:
        raise CommandError(
            f"This database holds customers that are not the demo's ({real} with an external id "
            f"not starting {DEMO_PREFIX}): the demo's made-up customers, ledger and survey answers "
            "would count in the same reports. Load the demo into an empty database, or add "
            "--force to load it here anyway."
        )


class Command(BaseCommand):
    help = (
        "Load a realistic, deterministic demo data set (customers, revenue and costs) and the "
        "logins admin / analyst / viewer. Does nothing if demo data exists, unless --reset. "
        "Refuses to load into a database that holds other customers, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000, help="default 3000")
        parser.add_argument("--years", type=int, default=3, help="of history; default 3")
        parser.add_argument(
            "--until", metavar="YYYY-MM", help="last month of data; default the last full month"
        )
        parser.add_argument("--seed", type=int, default=42, help="default 42")
        parser.add_argument(
            "--reset", action="store_true",
            help=f"first delete the demo rows (customers {DEMO_PREFIX}…, their ledger lines)",
        )
        parser.add_argument(
            "--no-users", action="store_true", help="leave the admin / analyst / viewer logins alone"
        )
        parser.add_argument(
            "--force", action="store_true",
            help="load even though the database holds customers that are not the demo's: they "
                 "would share every report with the demo customers",
        )

    def handle(self, *args, customers, years, until, seed, reset, no_users, force, **options):
        last_month = parse_month(until) if until else last_full_month()
        if customers < 1 or not 1 <= years <= 20:
            raise CommandError("--customers must be at least 1 and --years between 1 and 20.")
        if not force and would_load(reset=reset):
            refuse_beside_real_customers()
        if reset:
            self.reset()
        if demo_exists():
            self.stdout.write(
                f"Demo data already loaded ({demo_customers().count()} customers with external "
                f"ids {DEMO_PREFIX}…): nothing loaded. Use --reset to load it again."
            )
        else:
            self.load(customers=customers, years=years, last_month=last_month, seed=seed)
        if not demo_surveys_exist():
            self.load_surveys(seed=seed)
            # With the surveys only: a re-run, which loads nothing, emails nobody again.
            self.send_live_invitations(seed=seed)
        analyze_demo_tables()
        if not no_users:
            self.logins(demo_users_reset(password=os.environ.get("DEMO_PASSWORD") or None))

    def reset(self):
        # A survey of the operator's that invited demo customers keeps its sample: its invitations
        # and answers would go with the customers.
        if others := other_surveys_of(demo_customers()):
            raise CommandError(
                f"Not reset: demo customers were invited to surveys that are not the demo's "
                f"({', '.join(others)}); deleting the customers would delete those surveys' invitations "
                "and answers. Load the demo into a fresh database instead."
            )
        surveys = demo_surveys_delete()
        try:
            deleted = demo_delete()
        except ProtectedError as error:
            raise CommandError(
                f"Cannot delete the demo customers: other rows still refer to them ({error})."
            ) from error
        self.stdout.write(f"Deleted {deleted} demo customers and their ledger lines, and {surveys} demo surveys.")

    def load(self, **options):
        started = time.monotonic()
        try:
            summary = demo_load(**options)
        except DemoError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(
            f"Loaded demo data (seed {options['seed']}) for {summary.first_month:%Y-%m} to "
            f"{summary.last_month:%Y-%m} in {time.monotonic() - started:.1f} s: "
            f"{summary.customers} customers ({summary.by_kind.get('earned', 0)} earned, "
            f"{summary.by_kind.get('bought', 0)} bought, {summary.by_kind.get('unknown', 0)} "
            f"unknown; {summary.children} with a parent, {summary.referrals} referred), "
            f"{summary.revenue_entries} revenue entries ({summary.refunds} refunds), "
            f"{summary.cost_entries} cost entries."
        ))

    def load_surveys(self, *, seed):
        started = time.monotonic()
        counts = demo_surveys_load(customers=demo_customers(), seed=seed)
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {counts['surveys']} demo surveys in {time.monotonic() - started:.1f} s: "
            f"{counts['invitations']} invitations, {counts['responses']} responses."
        ))

    def send_live_invitations(self, *, seed):
        invitations = demo_live_invitations(customers=demo_customers(), seed=seed)
        if not invitations:
            self.stdout.write("No current demo customer to email a survey link to.")
            return
        survey = invitations[0].survey
        sent = Invitation.objects.filter(pk__in=[i.pk for i in invitations], state=InvitationState.SENT).count()
        link = f"a link to {survey.name!r} (valid {survey.expiry_days} days)"
        if sent:
            self.stdout.write(self.style.SUCCESS(
                f"Emailed {sent} demo customers {link}: open a survey link from {mailbox()}."
            ))
        else:  # a Celery worker sends them, or no commit has run the send yet
            self.stdout.write(
                f"Queued {len(invitations)} emails with {link} for the sending task: once sent, open a "
                f"survey link from {mailbox()}."
            )

    def logins(self, logins):
        self.stdout.write("")
        for username, password in logins:
            self.stdout.write(self.style.SUCCESS(
                f"Log in at {settings.SITE_URL}/ as {username} / {password}"
            ))
        if not os.environ.get("DEMO_PASSWORD"):
            self.stdout.write("(Random passwords; set DEMO_PASSWORD to choose one.)")
