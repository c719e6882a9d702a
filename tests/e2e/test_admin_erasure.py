"""Erasing a customer's personal data in a real browser (Debian's chromium, Playwright): an admin
picks the action on the Customers changelist, reads the confirmation page, confirms, and the staff
customer page then says the data was erased (README, Erasing a customer's personal data)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounting.models import Customer
from tests.e2e.test_main_flow import _log_in
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_erases_a_customer_from_the_changelist(live_server, chromium_browser, shots, reseeded):
    base = live_server.url
    admin = UserFactory(role="admin")
    customer = CustomerFactory(external_id="Z-1", name="Zelda Quintessa", email="zelda.q@private.example.org")
    CustomerFactory(external_id="O-1", name="Otto Other")

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, base, admin)
    page.goto(base + reverse("admin:accounting_customer_changelist"))
    page.check(f"input[name=_selected_action][value='{customer.pk}']")
    page.select_option("select[name=action]", "erase_personal_data")
    with page.expect_navigation():
        page.click("button[name=index]")
    shots("confirmation", page)

    assert page.locator("h1").inner_text() == "Erase personal data?"
    assert page.locator("#content li").all_inner_texts() == ["Z-1 (Zelda Quintessa)"]
    assert Customer.objects.get(pk=customer.pk).erased_at is None  # asked first, nothing erased yet

    with page.expect_navigation():
        page.click("input[type=submit][value='Yes, erase their personal data']")
    shots("erased", page)

    assert page.url == base + reverse("admin:accounting_customer_changelist")
    assert "Personal data erased of 1 customer(s)." in page.locator(".messagelist").inner_text()
    page.goto(base + reverse("accounting:customer-detail", args=[customer.pk]))
    shots("customer-page", page)
    erased = Customer.objects.get(pk=customer.pk)
    day = timezone.localdate(erased.erased_at)
    details = page.locator("#details-title + dl").inner_text()
    context.close()

    assert f"Personal data erased on {day:%Y-%m-%d}" in details
    assert "Zelda" not in details and (erased.name, erased.email) == ("", "")
    assert Customer.objects.get(external_id="O-1").name == "Otto Other"  # only the one selected
