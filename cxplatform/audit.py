"""The audit log of staff actions that change data (who, what, when), by django-auditlog.

Every save and delete of these models through the ORM is logged with the changed fields and, in a
request, the logged-in user (AuditlogMiddleware below: a session's or an API token's). Bulk writes
are not signalled, so they carry their own record: an import is an ImportBatch (who, when, file,
counts), a launch a Launch (who, when, audience), a recompute the snapshot's `requested_by`; the
ledger is append-only.

Survey responses are not in this log: what customers write is theirs, and an anonymous survey's
answers must not be tied to anybody, here either. A customer's reason text ("other", in their own
words) is logged as changed, its words hidden. Their follow-ups by staff (who, when, the note)
are in each response's own history (django-simple-history records the user of the request).
Passwords never reach the log: a password set (by its user, or by an admin for someone else) is
logged as a change of `password` with both values hidden, so who reset whose password is known.
"""

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from auditlog.registry import auditlog
from django.apps import apps
from django.utils.functional import SimpleLazyObject

AUDITED = {
    # Roles are groups: who joined or left one is logged, as is any permission given to a user.
    "auth.User": {
        "exclude_fields": ["last_login"], "mask_fields": ["password"], "mask_callable": "cxplatform.audit.hidden",
        "m2m_fields": {"groups", "user_permissions"},
    },
    "auth.Group": {"m2m_fields": {"permissions"}},
    # The reason text is the customer's own words when they answer "other" on the reason page. The
    # admin's "other" answers list (the OtherReasonAnswer proxy) maps them through Customer, so the
    # mapping is logged here, under the customer (services.customer_map_other_reason).
    "accounting.Customer": {
        "exclude_fields": ["updated_at", "entity"], "mask_fields": ["reason_text"],
        "mask_callable": "cxplatform.audit.hidden",
    },
    "accounting.ReasonCategory": {},
    "surveys.Survey": {"exclude_fields": ["updated_at", "next_launch_at", "launch_time_of_day"]},
    "surveys.SuppressedAddress": {},
    "django_celery_beat.PeriodicTask": {"exclude_fields": ["last_run_at", "total_run_count", "date_changed"]},
    # The schedules the tasks point at: moving a crontab to 31 February silences a task too.
    "django_celery_beat.CrontabSchedule": {},
    "django_celery_beat.IntervalSchedule": {},
    "django_celery_beat.SolarSchedule": {},
    "django_celery_beat.ClockedSchedule": {},
}


def hidden(value: str) -> str:
    """A masked field's value in the log: that it changed, nothing of what it was (auditlog's own
    mask keeps half of a password hash)."""
    return "********"


def audit_record(obj, *, action: int, text: str, mark: dict, changes: dict | None = None, by=None):
    """An entry written by hand for what no save signals (an erasure, an export of a customer's
    data): who (`by`, a staff user), what (`text`, `changes` masked by the caller) and when."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_pk=str(obj.pk),
        object_id=obj.pk,
        object_repr=str(obj),
        action=action,
        changes=changes or {},
        changes_text=text,
        additional_data=mark,
        actor=by if by is not None and by.is_authenticated else None,
    )


def register_audited_models() -> None:
    for label, options in AUDITED.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, **options)


class AuditlogMiddleware(BaseAuditlogMiddleware):
    """django-auditlog's middleware, reading the request's user when an entry is written.

    Its own reads `request.user` as the request comes in, before DRF authenticates an API token
    (inside the view, which then sets `request.user`): every token change had no actor. Read late,
    as django-simple-history's middleware does, the actor is the session's user or the token's.
    """

    @staticmethod
    def _get_actor(request):
        return SimpleLazyObject(lambda: BaseAuditlogMiddleware._get_actor(request))
