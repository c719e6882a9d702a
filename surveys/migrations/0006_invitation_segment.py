"""Each invitation keeps a copy of its customer's segment, as each response does.

Invitations made before this have no copy to recover: they get the customer's segment as it is
now, which is what the NPS sample counted them by until then.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_current_segment(apps, schema_editor):
    invitation_model = apps.get_model("surveys", "Invitation")
    customer_model = apps.get_model("accounting", "Customer")
    segment = customer_model.objects.filter(pk=OuterRef("customer_id")).values("segment")[:1]
    invitation_model.objects.update(segment=Subquery(segment))


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0008_reason_request_schedule"),
        ("surveys", "0005_webhook_url_check_and_trigger_idempotency"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="segment",
            field=models.CharField(blank=True, help_text="The customer's segment when invited.", max_length=100),
        ),
        migrations.RunPython(copy_current_segment, migrations.RunPython.noop, elidable=True),
    ]
