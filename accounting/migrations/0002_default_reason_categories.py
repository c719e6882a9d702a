from django.db import migrations
from django.utils.translation import gettext_noop

# Labels marked for makemessages: the reason page shows a seeded label in the customer's language
# (accounting/public_views.py); one an admin edited is shown as written.
DEFAULTS = [
    ("recommendation", gettext_noop("Recommended by a friend, family member or colleague"), "earned"),
    ("reputation", gettext_noop("Trusted reputation, reviews, word of mouth"), "earned"),
    ("returning", gettext_noop("Returning former customer"), "earned"),
    ("salesperson", gettext_noop("A helpful salesperson"), "bought"),
    ("advertising", gettext_noop("Advertising"), "bought"),
    ("promotion", gettext_noop("Special or promotional pricing"), "bought"),
    ("other", gettext_noop("Other"), "unknown"),
]


def seed(apps, schema_editor):
    category = apps.get_model("accounting", "ReasonCategory")
    history = apps.get_model("accounting", "HistoricalReasonCategory")
    for order, (slug, label, kind) in enumerate(DEFAULTS, start=1):
        obj, created = category.objects.get_or_create(
            slug=slug, defaults={"label": label, "kind": kind, "order": order * 10}
        )
        if created:
            # Historical models in migrations do not record themselves; the seed is audited too.
            from django.utils import timezone

            history.objects.create(
                id=obj.id, label=label, slug=slug, kind=kind, is_active=True, order=obj.order,
                history_date=timezone.now(), history_type="+",
                history_change_reason="seeded by migration",
            )


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
