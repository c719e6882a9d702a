"""PostgreSQL: a customer whose ledger lines an import committed while the delete waited for it is
not deleted (accounting.rollup_sql.GUARD_INSTALL; the import's lock is in accounting.imports.ledger)."""

from django.db import migrations

from accounting import rollup_sql


def install(apps, schema_editor):
    rollup_sql.install_ledger_guard(schema_editor)


def uninstall(apps, schema_editor):
    rollup_sql.uninstall_ledger_guard(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0014_importbatch_kind_responses")]

    operations = [migrations.RunPython(install, uninstall)]
