from django.db import models


class ReportAccess(models.Model):
    """Carries the report permissions; it has no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view dashboards and reports")]
