"""Invitations get `updated_at`, the moment a value the API shows last changed, for the API's
incremental pulls (`changed_after`), with an index on (updated_at, id).

Existing rows take the latest of their own moments, in one UPDATE: created, claimed, sent,
bounced, and for a named survey also answered, reminded and expired (an expired row at its
expiry). An anonymous survey's rows leave out the three: they would set apart who answered."""

from django.db import migrations, models
from django.db.models import Case, Exists, F, OuterRef, Q, When
from django.db.models.functions import Coalesce, Greatest, Now


def _latest(*names):
    # Coalesced: SQLite's MAX() of several values is NULL when any is.
    return Greatest("created_at", *(Coalesce(name, "created_at") for name in names))


def updated_at_from_own_moments(apps, schema_editor):
    invitation_model = apps.get_model("surveys", "Invitation")
    survey_model = apps.get_model("surveys", "Survey")
    anonymous = Exists(survey_model.objects.filter(pk=OuterRef("survey_id"), anonymous=True))
    expired_at = Case(When(Q(state="expired"), then=F("expires_at")))
    shown_alike = ("claimed_at", "sent_at", "bounced_at")
    invitation_model.objects.update(
        updated_at=Case(
            When(anonymous, then=_latest(*shown_alike)),
            default=_latest(*shown_alike, "responded_at", "reminder_sent_at", expired_at),
        )
    )


class Migration(migrations.Migration):

    dependencies = [("surveys", "0023_integrity_checks_and_records_kept")]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, db_default=Now()),
        ),
        migrations.RunPython(updated_at_from_own_moments, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(fields=["updated_at", "id"], name="invitation_updated"),
        ),
    ]
