"""The alert webhook URL's SSRF check, and one invitation per transactional event.

Retried triggers may already have stored the same (survey, customer, reference) twice. The
constraint could not be created over them, and deleting invitations would lose the audit: the
first row of each event keeps its reference, each later one gets ` #dup<id>` appended (unique, as
its id is), so it stays visible and countable.
"""

import surveys.webhook_urls
from django.db import migrations, models
from django.db.models import Count

SUFFIX = " #dup{}"
REFERENCE_LENGTH = 200


def mark_duplicates(apps, schema_editor):
    invitation_model = apps.get_model("surveys", "Invitation")
    events = (
        invitation_model.objects.exclude(reference="")
        .values("survey_id", "customer_id", "reference")
        .annotate(rows=Count("id"))
        .filter(rows__gt=1)
    )
    for event in events.iterator():
        rows = invitation_model.objects.filter(
            survey_id=event["survey_id"], customer_id=event["customer_id"], reference=event["reference"]
        ).order_by("id")
        for row in list(rows.only("id", "reference"))[1:]:
            suffix = SUFFIX.format(row.pk)
            row.reference = row.reference[: REFERENCE_LENGTH - len(suffix)] + suffix
            row.save(update_fields=["reference"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounting', '0008_reason_request_schedule'),
        ('surveys', '0004_detractor_alert_sweeper_schedule'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalsurvey',
            name='alert_webhook_url',
            field=models.URLField(blank=True, help_text='POSTed a JSON alert for each new detractor (http or https, a public host).', validators=[surveys.webhook_urls.validate_webhook_url]),
        ),
        migrations.AlterField(
            model_name='survey',
            name='alert_webhook_url',
            field=models.URLField(blank=True, help_text='POSTed a JSON alert for each new detractor (http or https, a public host).', validators=[surveys.webhook_urls.validate_webhook_url]),
        ),
        migrations.RunPython(mark_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name='invitation',
            constraint=models.UniqueConstraint(condition=models.Q(('reference', ''), _negated=True), fields=('survey', 'customer', 'reference'), name='invitation_once_per_reference'),
        ),
    ]
