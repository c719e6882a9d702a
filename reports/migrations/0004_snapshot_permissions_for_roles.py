"""Give the roles the snapshot permissions now, not only on the next migrate.

Django creates a model's permissions in post_migrate, app by app in INSTALLED_APPS order, and the
roles hook runs on the `cxplatform` app's turn, before `reports` has its new permissions: on a
fresh database the groups would miss them until the following migrate. Same as cxplatform's
0001_roles: create this app's permissions, then re-apply the role rules.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    from cxplatform.roles import sync_roles

    app_config = apps.get_app_config("reports")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    sync_roles(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0003_nightly_snapshot_schedule"),
        ("cxplatform", "0001_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
