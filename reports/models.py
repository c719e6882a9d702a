from django.conf import settings
from django.db import models
from django.db.models import Q


class ReportAccess(models.Model):
    """Carries the report permissions; it has no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view dashboards and reports")]

    def __str__(self):
        return "report access"


class SnapshotKind(models.TextChoices):
    EARNED_GROWTH = "earned_growth", "Earned growth"
    NPS = "nps", "NPS (relationship survey)"


class SnapshotStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SnapshotCompare(models.TextChoices):
    PRIOR = "prior", "Prior period"
    YOY = "yoy", "Same period a year earlier"


class SnapshotGrain(models.TextChoices):
    ENTITY = "entity", "Entity"
    CUSTOMER = "customer", "Customer"


class ReportSnapshot(models.Model):
    """A report's figures for one parameter set (SPEC §6), built by a task and kept as JSON.

    One row per parameter set: a recompute updates it in place, so repeated requests never
    double. `figures` and `fingerprint` are the last successful computation's, kept while a
    recompute runs or after it fails; `status` and `error` say how the latest request went.
    A recompute after a category changed class is a restatement: the figures it replaced are kept
    in `restated_from` (SPEC §2) until the next restatement; a recompute for new data (answers,
    mappings, parents, ledger lines) leaves it as it is.
    """

    kind = models.CharField(max_length=30, choices=SnapshotKind.choices)
    period = models.CharField(max_length=10, help_text="2025, 2025-Q3 or 2025-07")
    compare = models.CharField(max_length=10, choices=SnapshotCompare.choices, default=SnapshotCompare.PRIOR)
    grain = models.CharField(max_length=10, choices=SnapshotGrain.choices, default=SnapshotGrain.ENTITY)
    segment = models.CharField(max_length=100, blank=True, default="", help_text="Empty: all customers.")
    figures = models.JSONField(default=dict, blank=True)
    fingerprint = models.JSONField(
        default=dict, blank=True, help_text="Ledger row count and sum, classification version."
    )
    restated_from = models.JSONField(
        default=dict,
        blank=True,
        help_text="The figures a recompute replaced because a reason category had changed class: "
        "their fingerprint (with the classification they used) and when they were computed.",
    )
    status = models.CharField(max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.PENDING)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(  # PROTECT: a record keeps its "who"; deactivate users instead
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When the running computation claimed the row; tells its own claim from a newer one.
    started_at = models.DateTimeField(null=True, blank=True)
    interruptions = models.PositiveSmallIntegerField(
        default=0,
        help_text="Computations since the last request or success that were interrupted (their worker "
        "lost); at 3 the row is marked failed instead of being computed again.",
    )
    computed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [("recompute_reportsnapshot", "Can ask for a report snapshot to be recomputed")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period", "compare", "grain", "segment"], name="report_snapshot_parameters"
            ),
            models.CheckConstraint(condition=Q(kind__in=SnapshotKind.values), name="report_snapshot_kind"),
            models.CheckConstraint(condition=Q(status__in=SnapshotStatus.values), name="report_snapshot_status"),
            models.CheckConstraint(condition=Q(compare__in=SnapshotCompare.values), name="report_snapshot_compare"),
            models.CheckConstraint(condition=Q(grain__in=SnapshotGrain.values), name="report_snapshot_grain"),
        ]

    def __str__(self):
        scope = self.segment or "all segments"
        return f"{self.get_kind_display()} {self.period} ({self.compare}, {self.grain}, {scope})"
