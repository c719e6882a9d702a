"""Invitations failed as "interrupted while sending" before this release kept no expiry (it was set
only once sent), so their links, maybe delivered, never expired. Each gets the expiry its claim
would give it now: the claim time plus the survey's expiry days, at the same local time of day."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

INTERRUPTED = "interrupted while sending; not resent to avoid a duplicate"


def expire_like_any_other(apps, schema_editor):
    invitation_model = apps.get_model("surveys", "Invitation")
    rows = invitation_model.objects.filter(
        state="failed", last_error=INTERRUPTED, expires_at__isnull=True, claimed_at__isnull=False
    ).select_related("survey").only("pk", "claimed_at", "survey__expiry_days")
    changed = []
    for invitation in rows.iterator(chunk_size=2000):
        local = timezone.localtime(invitation.claimed_at).replace(tzinfo=None)
        invitation.expires_at = timezone.make_aware(local + timedelta(days=invitation.survey.expiry_days))
        changed.append(invitation)
    invitation_model.objects.bulk_update(changed, ["expires_at"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [("surveys", "0017_sender_name_one_line_rows")]

    operations = [migrations.RunPython(expire_like_any_other, migrations.RunPython.noop)]
