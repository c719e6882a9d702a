from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "cxplatform"
    verbose_name = "CX Platform"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .roles import sync_roles_after_migrate

        # Sender is this app: it runs once per migrate, after every app's permissions exist.
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="cx-sync-roles")
