"""The roll-up's insert and regroup triggers serialize against each other (accounting.rollup_sql):
an import racing a move of customers between entities no longer sums lines under the old entity."""

from django.db import migrations

from accounting import rollup_sql


def install(apps, schema_editor):
    rollup_sql.install_entity_lock(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0009_records_keep_their_user")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
