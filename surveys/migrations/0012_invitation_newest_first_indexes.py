"""Invitations newest first, as they are listed, read from an index instead of sorted.

The API's list and a survey's page both order by (-created_at, -id); with no index PostgreSQL
sorted every invitation (of the survey, which may hold a million) for each first page. The survey
column's own index goes: every index that serves it begins with it, and each index slows a launch.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0011_reminder_before_expiry_and_owner_kept'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='invitation',
            index=models.Index(fields=['survey', '-created_at', '-id'], name='invitation_survey_newest'),
        ),
        migrations.AddIndex(
            model_name='invitation',
            index=models.Index(fields=['-created_at', '-id'], name='invitation_newest'),
        ),
        migrations.AlterField(
            model_name='invitation',
            name='survey',
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='invitations',
                to='surveys.survey',
            ),
        ),
    ]
