"""Roles of SPEC §1 as Django groups with model permissions.

The rules are predicates over (app label, permission codename), so a permission added by a later
model lands in the right groups: the roles migration creates the groups, and a post_migrate hook
re-applies the rules after every migrate.
"""

ADMIN, ANALYST, VIEWER = "admin", "analyst", "viewer"
ROLES = (ADMIN, ANALYST, VIEWER)

PROJECT_APPS = ("accounting", "surveys", "reports")

# What analysts may change besides reading everything: import, capture reasons, run surveys.
ANALYST_WRITES = {
    "accounting": {
        "add_customer", "change_customer", "add_revenueentry", "add_costentry",
        "add_importbatch", "add_reasonrequest",
    },
    "surveys": {
        "add_survey", "change_survey", "launch_survey", "add_invitation", "change_invitation",
        "change_response", "add_response",
    },
    "reports": {"add_reportsnapshot", "recompute_reportsnapshot"},
}


def role_has(role: str, app_label: str, codename: str) -> bool:
    if role == ADMIN:
        # The audit log is read by admins and written by nobody.
        return app_label in PROJECT_APPS + ("auth", "django_celery_beat", "knox") or (
            app_label == "auditlog" and codename.startswith("view_")
        )
    if role == ANALYST:
        if app_label not in PROJECT_APPS:
            return False
        return codename.startswith("view_") or codename in ANALYST_WRITES.get(app_label, set())
    if role == VIEWER:
        return app_label == "reports" and codename.startswith("view_")
    raise ValueError(f"unknown role {role!r}")


def sync_roles(apps=None) -> None:
    """Create the three groups and give each exactly the permissions its rules allow."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(permission_model.objects.select_related("content_type"))
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set(
            [p for p in permissions if role_has(role, p.content_type.app_label, p.codename)]
        )


def sync_roles_after_migrate(sender, **kwargs) -> None:
    from django.apps import apps as global_apps

    last = [config for config in global_apps.get_app_configs() if config.models_module is not None][-1]
    if sender.name != last.name:
        return
    if kwargs.get("plan") is not None and not kwargs["plan"]:
        return
    sync_roles()
