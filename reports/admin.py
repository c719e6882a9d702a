"""Django admin of the reports app: report snapshots, read-only, with a recompute action.

Snapshots are built by tasks, never edited: nobody adds, changes or deletes them here. The schedule
that builds them nightly is django-celery-beat's "Nightly report snapshots" periodic task, which
that app's own admin lets admins edit.
"""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from .fingerprints import fingerprint_for, segment_fingerprints, with_segment
from .models import ReportSnapshot, SnapshotKind
from .snapshots import RECOMPUTE_PERMISSION, snapshot_is_stale, snapshots_recompute

LIST_DISPLAY = ["kind", "period", "compare", "grain", "segment_label", "status", "computed_at"]


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    list_filter = ["kind", "status", "grain", "compare"]
    sortable_by = LIST_DISPLAY  # else Django calls get_list_display() a second time
    search_fields = ["period", "segment"]
    list_select_related = ["requested_by"]
    actions = ["recompute_selected"]
    fields = [
        "kind",
        "period",
        "compare",
        "grain",
        "segment_label",
        "status",
        "error",
        "requested_by",
        "started_at",
        "interruptions",
        "computed_at",
        "stale",
        "fingerprint_display",
        "figures_display",
        "restated_from_display",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_list_display(self, request):
        # The current fingerprint costs a pass over the ledger: once per changelist, not per row.
        current = {kind: fingerprint_for(kind) for kind in SnapshotKind.values}
        segments = segment_fingerprints()  # every segment's customers: one grouped query

        @admin.display(boolean=True, description="stale")
        def stale(obj):
            return _stale_or_unknown(obj, with_segment(current[obj.kind], obj.segment, segments))

        return [*LIST_DISPLAY, stale]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_recompute_permission(self, request):
        return request.user.has_perm(RECOMPUTE_PERMISSION)

    @admin.action(description="Recompute selected", permissions=["recompute"])
    def recompute_selected(self, request, queryset):
        count = snapshots_recompute(queryset, user=request.user)  # checks the permission again
        self.message_user(request, f"Recompute requested for {count} snapshot(s).", messages.SUCCESS)

    @admin.display(description="segment", ordering="segment")
    def segment_label(self, obj):
        return obj.segment or "(all)"

    @admin.display(boolean=True, description="stale now")
    def stale(self, obj):
        return _stale_or_unknown(obj, fingerprint_for(obj.kind, obj.segment))

    @admin.display(description="fingerprint")
    def fingerprint_display(self, obj):
        return _pretty_json(obj.fingerprint)

    @admin.display(description="figures")
    def figures_display(self, obj):
        return _pretty_json(obj.figures)

    @admin.display(description="restated from")
    def restated_from_display(self, obj):
        return _pretty_json(obj.restated_from)


def _stale_or_unknown(snapshot: ReportSnapshot, current: dict) -> bool | None:
    if not snapshot.fingerprint:
        return None  # never computed: neither fresh nor stale
    return snapshot_is_stale(snapshot, current=current)


def _pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True)) if value else "-"
