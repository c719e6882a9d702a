"""Mapping "other" answers in the admin: audited under the customer, and only for the text the admin read."""

import re

import pytest
from auditlog.models import LogEntry as AuditEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounting.models import Customer, OtherReasonAnswer, ReasonCategory
from accounting.services import (
    REASON_ANSWER_CHANGED,
    customer_map_other_reason,
    customer_set_reason,
    other_answer_fingerprint,
)
from tests.factories import CustomerFactory, reason

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounting_otherreasonanswer_changelist"
CHANGE = "admin:accounting_otherreasonanswer_change"


def mapping_post(answer, category_pk, seen_text=None):
    """The changelist's POST of one row, carrying the text the page showed (by default the answer's)."""
    seen = answer.reason_text if seen_text is None else seen_text
    return {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000", "form-0-id": str(answer.pk),
        "form-0-reason_mapped_to": str(category_pk), "form-0-answer_seen": other_answer_fingerprint(seen),
        "_save": "Save",
    }


def change_post(answer, category_pk, seen_text=None):
    seen = answer.reason_text if seen_text is None else seen_text
    return {"reason_mapped_to": str(category_pk), "answer_seen": other_answer_fingerprint(seen), "_save": "Save"}


def hidden_value(page, name):
    match = re.search(rf'name="{re.escape(name)}" value="([0-9a-f]*)"', page.content.decode())
    assert match, f"no hidden {name} on the page"
    return match.group(1)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def audit_entries(customer):
    # Under the customer; an entry under the proxy's own content type would be listed apart.
    types = [
        ContentType.objects.get_for_model(Customer),
        ContentType.objects.get_for_model(OtherReasonAnswer, for_concrete_model=False),
    ]
    return AuditEntry.objects.filter(content_type__in=types, object_pk=str(customer.pk)).order_by("-timestamp")


def mapping_change(entry):
    return entry.changes_dict["reason_mapped_to"]


# --- The audit log -------------------------------------------------------------------------------


def test_a_mapping_from_the_changelist_is_in_the_audit_log_under_the_customer(admin_client, admin):
    answer = CustomerFactory(reason=reason("other"), reason_text="Google ads")
    before = audit_entries(answer).count()

    response = admin_client.post(reverse(CHANGELIST), mapping_post(answer, reason("advertising").pk))

    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.reason_mapped_to == reason("advertising")
    entries = audit_entries(answer)
    assert entries.count() == before + 1
    assert entries[0].content_type == ContentType.objects.get_for_model(Customer)
    assert entries[0].actor == admin
    assert mapping_change(entries[0]) == ["None", str(reason("advertising").pk)]


def test_a_mapping_changed_and_cleared_on_the_change_page_is_in_the_audit_log(admin_client, admin):
    answer = CustomerFactory(reason=reason("other"), reason_text="Google ads", reason_mapped_to=reason("advertising"))
    before = audit_entries(answer).count()

    changed = admin_client.post(reverse(CHANGE, args=[answer.pk]), change_post(answer, reason("promotion").pk))
    cleared = admin_client.post(reverse(CHANGE, args=[answer.pk]), change_post(answer, ""))

    assert changed.status_code == cleared.status_code == 302
    answer.refresh_from_db()
    assert answer.reason_mapped_to is None
    entries = audit_entries(answer)
    assert entries.count() == before + 2
    assert {e.actor for e in entries[:2]} == {admin}
    assert mapping_change(entries[1]) == [str(reason("advertising").pk), str(reason("promotion").pk)]
    assert mapping_change(entries[0]) == [str(reason("promotion").pk), "None"]


def test_the_audit_log_screen_lists_the_mapping_under_the_customer(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="Google ads")
    admin_client.post(reverse(CHANGELIST), mapping_post(answer, reason("advertising").pk))

    entry = audit_entries(answer)[0]
    page = admin_client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk]))

    assert page.status_code == 200
    assert "reason mapped to" in page.content.decode().lower()


# --- Only the text the admin read is mapped -----------------------------------------------------


def test_the_changelist_carries_the_text_each_row_shows(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="My colleague told me")

    page = admin_client.get(reverse(CHANGELIST))

    assert hidden_value(page, "form-0-answer_seen") == other_answer_fingerprint(answer.reason_text)


def test_a_mapping_is_refused_when_the_customer_answered_again_after_the_page_was_read(admin_client):
    """The admin read "my colleague told me" and maps it to 'recommendation'; meanwhile the
    customer answered again with another text. The mapping must not class a text nobody read."""
    answer = CustomerFactory(reason=reason("other"), reason_text="My colleague told me")
    page = admin_client.get(reverse(CHANGELIST))
    seen = hidden_value(page, "form-0-answer_seen")
    customer = Customer.objects.get(pk=answer.pk)
    customer_set_reason(customer=customer, reason=reason("other"), text="Your billboard on the A6", source="api")
    post = {**mapping_post(answer, reason("recommendation").pk), "form-0-answer_seen": seen}

    refused = admin_client.post(reverse(CHANGELIST), post)

    assert refused.status_code == 200
    assert REASON_ANSWER_CHANGED in refused.content.decode()
    answer.refresh_from_db()
    assert (answer.reason_text, answer.reason_mapped_to) == ("Your billboard on the A6", None)
    # The page shown again carries the new text: saved once more, after reading it, it maps.
    assert hidden_value(refused, "form-0-answer_seen") == other_answer_fingerprint("Your billboard on the A6")
    again = admin_client.post(reverse(CHANGELIST), mapping_post(answer, reason("advertising").pk))
    assert again.status_code == 302
    answer.refresh_from_db()
    assert answer.reason_mapped_to == reason("advertising")


def test_a_mapping_on_the_change_page_is_refused_when_the_answer_changed(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="My colleague told me")
    customer_set_reason(customer=answer, reason=reason("other"), text="Your billboard on the A6", source="api")

    refused = admin_client.post(
        reverse(CHANGE, args=[answer.pk]), change_post(answer, reason("recommendation").pk, "My colleague told me")
    )

    assert refused.status_code == 200
    assert REASON_ANSWER_CHANGED in refused.content.decode()
    answer.refresh_from_db()
    assert answer.reason_mapped_to is None


def test_an_untouched_row_whose_answer_changed_is_not_saved(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="Fair", reason_mapped_to=reason("advertising"))
    post = {**mapping_post(answer, reason("advertising").pk, "Some older text")}

    response = admin_client.post(reverse(CHANGELIST), post)

    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.reason_mapped_to == reason("advertising")


def test_a_mapping_without_the_text_the_page_showed_is_refused(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="Fair")
    post = mapping_post(answer, reason("advertising").pk)
    del post["form-0-answer_seen"]

    assert admin_client.post(reverse(CHANGELIST), post).status_code == 200
    answer.refresh_from_db()
    assert answer.reason_mapped_to is None


def test_the_service_maps_only_the_text_its_caller_read():
    customer = CustomerFactory(reason=reason("other"), reason_text="My colleague told me")
    read = Customer.objects.get(pk=customer.pk)
    customer_set_reason(customer=customer, reason=reason("other"), text="Your billboard on the A6", source="api")

    with pytest.raises(ValidationError) as refused:
        customer_map_other_reason(customer=read, category=reason("recommendation"))
    with pytest.raises(ValidationError):
        seen = other_answer_fingerprint("My colleague told me")
        customer_map_other_reason(customer=customer, category=reason("recommendation"), answer_seen=seen)

    assert refused.value.messages == [REASON_ANSWER_CHANGED]
    customer.refresh_from_db()
    assert customer.reason_mapped_to is None
    customer_map_other_reason(customer=customer, category=reason("advertising"))
    customer.refresh_from_db()
    assert customer.reason_mapped_to == reason("advertising")


def test_the_service_refuses_to_map_an_answer_that_is_no_longer_other():
    customer = CustomerFactory(reason=reason("other"), reason_text="Fair")
    read = Customer.objects.get(pk=customer.pk)
    customer_set_reason(customer=customer, reason=reason("advertising"), text="", source="api")

    with pytest.raises(ValidationError):
        customer_map_other_reason(customer=read, category=reason("recommendation"))
    customer.refresh_from_db()
    assert customer.reason_mapped_to is None


def test_mapping_an_answer_that_stopped_being_other_is_refused_cleanly(admin_client):
    answer = CustomerFactory(reason=reason("other"), reason_text="Fair")
    Customer.objects.filter(pk=answer.pk).update(reason=reason("advertising"), reason_text="")

    response = admin_client.post(reverse(CHANGELIST), mapping_post(answer, reason("recommendation").pk, "Fair"))

    assert response.status_code in (200, 302)
    answer.refresh_from_db()
    assert answer.reason_mapped_to is None


# --- Who maps, what is shown ----------------------------------------------------------------------


def test_the_answer_text_is_escaped_in_the_admin_list(admin_client):
    CustomerFactory(reason=reason("other"), reason_text='<script>alert(1)</script><img src=x onerror=alert(2)>')

    page = admin_client.get(reverse(CHANGELIST))

    assert b"<script>alert(1)" not in page.content
    assert b"<img src=x" not in page.content


@pytest.mark.parametrize("role", ["analyst", "viewer", None])
def test_only_admins_map(client, user_with_role, role):
    answer = CustomerFactory(reason=reason("other"), reason_text="Fair")
    user = user_with_role(role)
    if user is not None:
        user.is_staff = True
        user.save()
        client.force_login(user)

    client.post(reverse(CHANGELIST), mapping_post(answer, reason("recommendation").pk))
    client.post(reverse(CHANGE, args=[answer.pk]), change_post(answer, reason("recommendation").pk))

    answer.refresh_from_db()
    assert answer.reason_mapped_to is None


def test_deleting_a_category_used_only_as_a_mapping_is_refused(admin_client):
    fairs = ReasonCategory.objects.create(label="Trade fairs", slug="fairs", kind="bought", order=99)
    answer = CustomerFactory(reason=reason("other"), reason_text="Fair", reason_mapped_to=fairs)
    url = reverse("admin:accounting_reasoncategory_delete", args=[fairs.pk])

    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"post": "yes"})

    assert ReasonCategory.objects.filter(pk=fairs.pk).exists()
    answer.refresh_from_db()
    assert answer.reason_mapped_to == fairs
