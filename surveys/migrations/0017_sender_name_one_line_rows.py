"""Sender names saved before 0009 (which added only the validator) may hold a line break or another
control character: every email of such a survey failed on its From header. Each becomes a space."""

import re

from django.db import migrations

CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(apps, schema_editor):
    survey_model = apps.get_model("surveys", "Survey")
    for survey in survey_model.objects.filter(sender_name__regex=r"[\x00-\x1f\x7f]").only("pk", "sender_name"):
        name = " ".join(CONTROL.sub(" ", survey.sender_name).split())
        survey_model.objects.filter(pk=survey.pk).update(sender_name=name)


class Migration(migrations.Migration):

    dependencies = [("surveys", "0016_response_updated_index")]

    operations = [migrations.RunPython(one_line, migrations.RunPython.noop)]
