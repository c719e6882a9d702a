"""Suppressed addresses on internationalised domains, in each form: a row for the Unicode form (as
customers' addresses are typed) and one for the punycode form (as Django sends it, so as a
provider's bounce names it), both lower-cased in `email`, so every check stays one equality on it
(PostgreSQL hashes the list). Existing entries are lower-cased (one in another case of a listed
address is that address and goes) and get a row for each of their other forms."""

from django.db import migrations, models

from surveys.models import address_forms


def entries_in_every_form(apps, schema_editor):
    SuppressedAddress = apps.get_model("surveys", "SuppressedAddress")
    entries = SuppressedAddress.objects.order_by("created_at", "pk")
    for pk, email, kind, detail, created_at in list(entries.values_list("pk", "email", "kind", "detail", "created_at")):
        forms = address_forms(email)  # lower-cased, as given first; punycode that doesn't decode kept
        if forms[0] != email:
            if SuppressedAddress.objects.filter(email=forms[0]).exists():
                SuppressedAddress.objects.filter(pk=pk).delete()
            else:
                SuppressedAddress.objects.filter(pk=pk).update(email=forms[0])
        SuppressedAddress.objects.bulk_create(
            [SuppressedAddress(email=form, kind=kind, detail=detail, created_at=created_at) for form in forms[1:]],
            ignore_conflicts=True,  # a form listed already keeps its own entry
        )


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0014_sample_percent_decimal_bounds'),
    ]

    operations = [
        migrations.AlterField(
            model_name='suppressedaddress',
            name='email',
            field=models.EmailField(help_text='Stored lower-cased; an internationalised domain has a row in each form (jo@bücher.de, jo@xn--bcher-kva.de).', max_length=254, unique=True),
        ),
        # Backwards nothing to undo: rows in each form are what the earlier lookup (one equality on
        # the lower-cased address) matches too, both forms rather than the one it was given.
        migrations.RunPython(entries_in_every_form, migrations.RunPython.noop),
    ]
