"""Suppressed addresses on internationalised domains, in both forms: `email` with its domain in
Unicode (as customers' addresses are typed), `email_ascii` in punycode (as Django sends it, so as a
provider's bounce names it). Existing entries are rewritten so; an entry stored in punycode whose
Unicode form is listed too is the same address and goes."""

from django.db import migrations, models

from surveys.models import address_ascii, address_normalized


def entries_normalize(apps, schema_editor):
    SuppressedAddress = apps.get_model("surveys", "SuppressedAddress")
    for entry in SuppressedAddress.objects.order_by("created_at", "pk").iterator():
        email = address_normalized(entry.email)
        email_ascii = address_ascii(email)
        if (email, email_ascii) == (entry.email, entry.email_ascii):
            continue
        if email != entry.email and SuppressedAddress.objects.filter(email=email).exists():
            entry.delete()
            continue
        entry.email, entry.email_ascii = email, email_ascii
        entry.save(update_fields=["email", "email_ascii"])


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0014_sample_percent_decimal_bounds'),
    ]

    operations = [
        migrations.AddField(
            model_name='suppressedaddress',
            name='email_ascii',
            field=models.CharField(blank=True, db_index=True, editable=False, help_text='The address with its domain in punycode, as it is sent, when that differs.', max_length=254, null=True, verbose_name='email as sent'),
        ),
        migrations.AlterField(
            model_name='suppressedaddress',
            name='email',
            field=models.EmailField(help_text='Stored lower-cased, an internationalised domain in Unicode (bücher.de).', max_length=254, unique=True),
        ),
        migrations.RunPython(entries_normalize, migrations.RunPython.noop),
    ]
