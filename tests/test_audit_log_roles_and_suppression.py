"""Audit-log entries that no other test pinned (SPEC §1 security defaults: an audit log of changes).

Widening a role by giving its group a permission, and taking an address off the suppression list
(it may then be emailed again), are staff changes like any other: each must leave an entry.
"""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group, Permission

from surveys.models import AddressEventKind, SuppressedAddress

pytestmark = pytest.mark.django_db


def _last_entry_pk() -> int:
    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_a_permission_given_to_or_taken_from_a_role_is_in_the_audit_log():
    """A role is a group: adding `accounting.delete_customer` to the viewer group, then removing it,
    is logged on the group as an "add" and a "delete" of that permission."""
    viewers = Group.objects.get(name="viewer")
    permission = Permission.objects.get(codename="delete_customer")
    before = _last_entry_pk()

    viewers.permissions.add(permission)
    viewers.permissions.remove(permission)

    entries = LogEntry.objects.filter(pk__gt=before, object_pk=str(viewers.pk)).order_by("pk")
    changes = [e.changes_dict["permissions"] for e in entries if "permissions" in e.changes_dict]
    assert [change["operation"] for change in changes] == ["add", "delete"]
    assert all(len(change["objects"]) == 1 for change in changes)


def test_an_address_put_on_and_taken_off_the_suppression_list_is_in_the_audit_log():
    """Suppressed addresses are never emailed: adding one and removing it (the admin's delete) are
    both logged, so who let an address be emailed again is known."""
    entry = SuppressedAddress.objects.create(email="jo@example.com", kind=AddressEventKind.BOUNCED)
    created = LogEntry.objects.get_for_object(entry)
    assert created.filter(action=LogEntry.Action.CREATE).count() == 1

    pk = entry.pk
    SuppressedAddress.objects.filter(pk=pk).delete_with_forms()

    deleted = LogEntry.objects.filter(
        content_type__model="suppressedaddress", object_pk=str(pk), action=LogEntry.Action.DELETE
    )
    assert deleted.count() == 1
