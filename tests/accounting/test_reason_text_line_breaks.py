"""A reason text's line breaks on every door: a browser counts one against the textarea's maxlength
(2,000) but posts it as CRLF. The reason page counted it once and stored LF; the staff form and the
admin counted it twice (refusing a text that fitted the box) and stored CRLF. Found by an audit."""

import pytest
from django.test import Client
from django.urls import reverse

from accounting.admin import CustomerAdminForm
from accounting.forms import CustomerReasonForm
from accounting.models import Customer, ReasonCategory
from accounting.services import customer_map_other_reason, reason_request_create
from tests.factories import CustomerFactory, reason
from tests.form_data import admin_change_data

pytestmark = pytest.mark.django_db

# 2,000 characters as the browser's textarea counts them (a line break is one), 2,001 as posted (CRLF).
BROWSER_2000 = "x" * 1000 + "\r\n" + "x" * 999
STORED_2000 = "x" * 1000 + "\n" + "x" * 999


def stored(customer):
    return Customer.objects.get(pk=customer.pk)


def admin_url(customer):
    return reverse("admin:accounting_customer_change", args=[customer.pk])


def test_staff_reason_form_takes_the_text_the_reason_page_takes(client_as):
    other = ReasonCategory.objects.get(slug="other")
    by_page = CustomerFactory(email="page@example.com")
    issued = reason_request_create(customer=by_page)
    page = Client().post(f"/why/{issued.token}/", {"reason": other.pk, "reason_text": BROWSER_2000})
    assert page.status_code == 303  # the customer's door accepts it, stored with LF

    by_staff = CustomerFactory(email="staff@example.com")
    staff = client_as("analyst").post(
        reverse("accounting:customer-reason", args=[by_staff.pk]), {"reason": other.pk, "reason_text": BROWSER_2000}
    )

    assert staff.status_code == 302, "the staff form refused a text its own textarea (maxlength 2000) let through"
    assert stored(by_staff).reason_text == stored(by_page).reason_text == STORED_2000


def test_staff_form_still_refuses_2001_characters_as_the_browser_counts_them():
    form = CustomerReasonForm({"reason": reason("other").pk, "reason_text": BROWSER_2000 + "x"})

    assert "reason_text" in form.errors


def test_admin_takes_the_reason_text_the_reason_page_takes(client_as):
    other = ReasonCategory.objects.get(slug="other")
    customer = CustomerFactory(email="admin@example.com")
    client = client_as("admin")
    url = admin_url(customer)

    response = client.post(url, admin_change_data(client, url, reason=other.pk, reason_text=BROWSER_2000))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert stored(customer).reason_text == STORED_2000


def test_admin_still_refuses_a_new_text_of_2001_characters_as_the_browser_counts_them():
    customer = CustomerFactory()
    data = {"external_id": customer.external_id, "language": "en", "reason": reason("other").pk}

    form = CustomerAdminForm({**data, "reason_text": BROWSER_2000 + "x"}, instance=customer)

    assert "reason_text" in form.errors


@pytest.mark.parametrize(
    "stored_text", ["line one\nline two", "line one\r\nline two"], ids=["stored-lf", "stored-crlf-before-the-fix"]
)
def test_admin_saving_an_unchanged_text_keeps_the_answer_and_its_mapping(client_as, stored_text):
    """The browser posts the text back with CRLF: that is the same answer, not a new one."""
    customer = CustomerFactory(reason=reason("other"), reason_text=stored_text, segment="SMB")
    customer_map_other_reason(customer=customer, category=reason("recommendation"))
    before = stored(customer)
    client = client_as("admin")
    url = admin_url(customer)

    data = admin_change_data(client, url, reason_text="line one\r\nline two", segment="ENT")
    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    after = stored(customer)
    assert after.segment == "ENT"
    assert after.reason_mapped_to == reason("recommendation")
    assert (after.reason_source, after.reason_answered_at) == (before.reason_source, before.reason_answered_at)


def test_the_api_stores_the_text_as_every_other_door_does(api_client_as):
    customer = CustomerFactory()
    api = api_client_as("analyst")

    response = api.post(
        f"/api/customers/{customer.pk}/reason/", {"reason": "other", "reason_text": "a\r\nb"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert stored(customer).reason_text == "a\nb"


def test_a_text_stored_with_crlf_before_sent_again_with_lf_keeps_its_mapping(client_as):
    """Texts the staff form stored with CRLF before; the same words sent again (now LF) are no new answer."""
    customer = CustomerFactory(reason=reason("other"), reason_text="a\r\nb")
    customer_map_other_reason(customer=customer, category=reason("recommendation"))

    response = client_as("analyst").post(
        reverse("accounting:customer-reason", args=[customer.pk]),
        {"reason": reason("other").pk, "reason_text": "a\r\nb"},
    )

    assert response.status_code == 302
    assert stored(customer).reason_mapped_to == reason("recommendation")


def test_bulk_import_counts_a_reason_texts_line_break_once_and_stores_lf(api_client_as):
    """README: a reason text is at most 2,000 characters on every door (... API, CSV); a line break
    counts as one character and is stored as LF whichever door it came through."""
    body = [{"external_id": "B1", "name": "B", "reason": "other", "reason_text": BROWSER_2000}]

    response = api_client_as("admin").post(reverse("api-customer-bulk"), body, format="json")

    assert response.status_code == 201, response.json().get("errors")
    assert Customer.objects.get(external_id="B1").reason_text == STORED_2000


def test_bulk_reimport_of_the_same_text_with_crlf_keeps_the_answer_and_its_mapping(api_client_as):
    """README: the answer a customer already has, sent again (the same file re-imported), changes
    nothing, the mapping included; a CRLF text and its LF twin are the same answer on every door."""
    customer = CustomerFactory(external_id="B2", reason=reason("other"), reason_text="line one\nline two")
    customer_map_other_reason(customer=customer, category=reason("recommendation"))
    body = [{"external_id": "B2", "reason": "other", "reason_text": "line one\r\nline two"}]

    response = api_client_as("admin").post(reverse("api-customer-bulk"), body, format="json")

    assert response.status_code == 201, response.json()
    after = Customer.objects.get(pk=customer.pk)
    assert after.reason_mapped_to == reason("recommendation"), "the re-import dropped the admin's mapping"
    assert after.reason_text == "line one\nline two"


def test_reimport_without_reason_cells_keeps_a_crlf_stored_answer_and_its_mapping(api_client_as):
    """A customer whose 'other' text was stored with CRLF (before LF was the rule): a bulk row that
    updates only the name leaves the reason cells empty ("empty cells keep what is stored"). The
    answer is unchanged, so the admin's mapping and the answer's source and date must stay."""
    customer = CustomerFactory(external_id="C1", reason=reason("other"), reason_text="line one\r\nline two")
    customer_map_other_reason(customer=customer, category=reason("recommendation"))
    before = Customer.objects.get(pk=customer.pk)

    response = api_client_as("admin").post(
        reverse("api-customer-bulk"), [{"external_id": "C1", "name": "New name"}], format="json"
    )

    assert response.status_code == 201, response.json()
    after = Customer.objects.get(pk=customer.pk)
    assert after.name == "New name"
    assert after.reason_mapped_to == reason("recommendation"), "a name-only update dropped the admin's mapping"
    assert after.reason_source == before.reason_source
    assert after.reason_answered_at == before.reason_answered_at
