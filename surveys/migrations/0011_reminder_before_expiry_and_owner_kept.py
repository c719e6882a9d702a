"""A reminder comes before the link expires, as a check constraint; a survey's owner is kept.

A stored reminder at or after the expiry was never sent (reminders go to links not expired yet):
it is dropped, so the survey shows what it does. Deleting a user who owns a survey is refused from
now on, as for every other record that names its user: deactivate the user, or give the survey
another owner, instead of losing its detractor alerts unseen.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def drop_reminders_never_sent(apps, schema_editor):
    survey_model = apps.get_model("surveys", "Survey")
    survey_model.objects.filter(reminder_days__gte=models.F("expiry_days")).update(reminder_days=None)
    if schema_editor.connection.vendor == "postgresql":
        # PostgreSQL refuses the ALTER TABLEs below while deferred foreign-key checks of the
        # updated rows are pending: run them now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0010_alert_parts_delivered'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_reminders_never_sent, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name='survey',
            name='owner',
            field=models.ForeignKey(blank=True, help_text='Gets an email for each new detractor.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='survey',
            constraint=models.CheckConstraint(condition=models.Q(('reminder_days__isnull', True), ('reminder_days__lt', models.F('expiry_days')), _connector='OR'), name='survey_reminder_before_expiry', violation_error_message='The reminder must come before the link expires: make the reminder days fewer than the expiry days.'),
        ),
    ]
