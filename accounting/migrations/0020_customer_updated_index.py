"""An index on (updated_at, id) for the API's incremental pulls of customers (`changed_after`)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("accounting", "0019_integrity_checks")]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["updated_at", "id"], name="customer_updated"),
        ),
    ]
