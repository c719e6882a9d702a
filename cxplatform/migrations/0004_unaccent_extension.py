"""PostgreSQL's unaccent extension, which the staff search boxes' `ifind` calls (cxplatform.text_search).

unaccent is a trusted extension since PostgreSQL 13: the database's owner creates it, no superuser
needed. Created beforehand (by a superuser, on an older server), it is no change here: IF NOT EXISTS
checks before any privilege is. Nothing on SQLite. Reversing keeps it: it may predate this
migration, and dropping it needs its owner.
"""

from django.db import migrations


def create_unaccent(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = [("cxplatform", "0003_expired_logins_sweeper_schedule")]

    operations = [migrations.RunPython(create_unaccent, migrations.RunPython.noop, elidable=False)]
