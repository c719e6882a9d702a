"""Survey.sample_percent's bounds as Decimals: the float 0.01 refused Decimal("0.01"). Validators
only: nothing changes in the database."""

import django.core.validators
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0013_launch_via'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalsurvey',
            name='sample_percent',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='A sample audience: this percentage of the active customers (of its segment, if named).', max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(Decimal('100'))]),
        ),
        migrations.AlterField(
            model_name='survey',
            name='sample_percent',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='A sample audience: this percentage of the active customers (of its segment, if named).', max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(Decimal('100'))]),
        ),
    ]
