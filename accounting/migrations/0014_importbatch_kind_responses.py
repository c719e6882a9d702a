"""`manage.py import_responses` (and the Imports page) record their files as imports of kind "responses"."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounting', '0013_stale_import_sweeper_schedule'),
    ]

    operations = [
        migrations.AlterField(
            model_name='importbatch',
            name='kind',
            field=models.CharField(choices=[('customers', 'Customers'), ('revenue', 'Revenue'), ('costs', 'Costs'), ('responses', 'Survey responses')], max_length=20),
        ),
    ]
