"""A survey's audience fields agree with its kind of audience, as check constraints.

Until now the launch ignored what did not fit (a segment on an "all" audience, a percentage on a
segment audience), and a recurring hand-picked list stopped the daily relaunch of every survey
after it. Existing rows drop what the launch ignored; a stored sample keeps its segment, which
the launch now honours (the survey page already showed it as the sample's segment).
"""

import django.core.validators
from django.conf import settings
from django.db import migrations, models


def drop_ignored_settings(apps, schema_editor):
    survey_model = apps.get_model("surveys", "Survey")
    survey_model.objects.exclude(audience__in=["segment", "sample"]).exclude(audience_segment="").update(
        audience_segment=""
    )
    survey_model.objects.exclude(audience="sample").filter(sample_percent__isnull=False).update(sample_percent=None)
    survey_model.objects.filter(audience="list", repeat_days__isnull=False).update(repeat_days=None, next_launch_at=None)
    if schema_editor.connection.vendor == "postgresql":
        # A row updated twice above queues its (deferred) owner foreign-key check, and PostgreSQL
        # refuses the ALTER TABLEs below while checks are pending: run them now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0006_invitation_segment'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_ignored_settings, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name='historicalsurvey',
            name='audience_segment',
            field=models.CharField(blank=True, help_text='The segment of a segment audience; of a sample, the segment it is drawn from.', max_length=100),
        ),
        migrations.AlterField(
            model_name='historicalsurvey',
            name='sample_percent',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='A sample audience: this percentage of the active customers (of its segment, if named).', max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(0.01), django.core.validators.MaxValueValidator(100)]),
        ),
        migrations.AlterField(
            model_name='survey',
            name='audience_segment',
            field=models.CharField(blank=True, help_text='The segment of a segment audience; of a sample, the segment it is drawn from.', max_length=100),
        ),
        migrations.AlterField(
            model_name='survey',
            name='sample_percent',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='A sample audience: this percentage of the active customers (of its segment, if named).', max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(0.01), django.core.validators.MaxValueValidator(100)]),
        ),
        migrations.AddConstraint(
            model_name='survey',
            constraint=models.CheckConstraint(condition=models.Q(('audience_segment', ''), ('audience__in', ['segment', 'sample']), _connector='OR'), name='survey_segment_only_for_segment_or_sample', violation_error_message='Only a segment audience or a sample names a segment.'),
        ),
        migrations.AddConstraint(
            model_name='survey',
            constraint=models.CheckConstraint(condition=models.Q(('sample_percent__isnull', True), ('audience', 'sample'), _connector='OR'), name='survey_percent_only_for_sample', violation_error_message='Only a sample audience takes a percentage.'),
        ),
        migrations.AddConstraint(
            model_name='survey',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('audience', 'list'), _negated=True), ('repeat_days__isnull', True), _connector='OR'), name='survey_list_audience_not_recurring', violation_error_message='A hand-picked list is not relaunched on a schedule.'),
        ),
    ]
