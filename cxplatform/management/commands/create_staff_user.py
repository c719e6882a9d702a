import getpass
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cxplatform.roles import ADMIN, ROLES
from cxplatform.staff_users import staff_user_create

PASSWORD_VARIABLE = "CX_STAFF_PASSWORD"  # noqa: S105 (the name of a variable, no secret)


class Command(BaseCommand):
    help = (
        "Create a staff login in one role (admin, analyst or viewer): the first admin of a new "
        f"installation. The password is asked twice, or read from {PASSWORD_VARIABLE} (scripts)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, default=ADMIN, help="Default: admin.")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, email, **options):
        password = os.environ.get(PASSWORD_VARIABLE) or self.ask_password()
        try:
            user = staff_user_create(username=username, role=role, password=password, email=email)
        except ValidationError as error:
            raise CommandError(
                " ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
            ) from None
        self.stdout.write(f"Created {user.username!r} in the {role} role.")

    def ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError(f"Set {PASSWORD_VARIABLE} or run this command in a terminal to type the password.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first
