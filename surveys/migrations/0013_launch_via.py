"""How each launch was made: the survey page, the API, `manage.py send_survey` or the schedule. A
command's launch has no user, and was shown as the schedule's. Past launches with a user are
counted as the page's (the page and the API cannot be told apart afterwards)."""

from django.db import migrations, models


def past_launches_with_a_user_came_from_the_page(apps, schema_editor):
    apps.get_model("surveys", "Launch").objects.filter(launched_by__isnull=False).update(via="page")


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0012_invitation_newest_first_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='launch',
            name='via',
            field=models.CharField(
                choices=[('page', 'survey page'), ('api', 'API'), ('command', 'manage.py'), ('schedule', 'schedule')],
                default='schedule', max_length=10,
            ),
        ),
        migrations.RunPython(past_launches_with_a_user_came_from_the_page, migrations.RunPython.noop),
    ]
