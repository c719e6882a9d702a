from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "cxplatform"
    verbose_name = "CX Platform"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .audit import register_audited_models
        from .roles import sync_roles_after_migrate
        from .schedules import schedules_follow_time_zone_after_migrate

        # post_migrate fires once per app, in INSTALLED_APPS order, each creating its own
        # permissions: the hook acts on the last app's signal, when every permission exists.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="cx-sync-roles")
        post_migrate.connect(schedules_follow_time_zone_after_migrate, dispatch_uid="cx-schedules-time-zone")
        register_audited_models()
