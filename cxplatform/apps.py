from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_save


class CoreConfig(AppConfig):
    name = "cxplatform"
    verbose_name = "CX Platform"

    def ready(self):
        from django.contrib.auth import get_user_model

        from . import checks  # noqa: F401  (registers the system checks)
        from .api_auth import revoke_tokens_on_password_change
        from .audit import register_audited_models
        from .roles import sync_roles_after_migrate
        from .schedules import schedules_follow_time_zone_after_migrate
        from .text_search import register_text_search

        # post_migrate fires once per app, in INSTALLED_APPS order, each creating its own
        # permissions: the hook acts on the last app's signal, when every permission exists.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="cx-sync-roles")
        post_migrate.connect(schedules_follow_time_zone_after_migrate, dispatch_uid="cx-schedules-time-zone")
        pre_save.connect(revoke_tokens_on_password_change, sender=get_user_model(), dispatch_uid="cx-revoke-tokens")
        register_audited_models()
        register_text_search()  # the `ifind` lookup of staff search boxes
        # The admin app, first in INSTALLED_APPS, has registered every admin by now.
        from .admin_guards import install as guard_admin_pages
        from .admin_selection import install as check_admin_selections

        check_admin_selections()
        guard_admin_pages()  # before the URLs are built: it wraps the autocomplete view
