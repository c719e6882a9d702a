"""The main flow in a real browser: staff imports customers and revenue, sees the earned-growth
charts, launches a survey; a customer answers the emailed link on a phone; the NPS dashboard
shows the answer. Also basic accessibility of the answer page: labels, keyboard, contrast."""

import re
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from reports.periods import QUARTER, period_containing
from surveys.models import Response
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}

CHECKS = Path(__file__).parent
CONTRAST_JS = (CHECKS / "contrast.js").read_text()
UNLABELLED_JS = (CHECKS / "unlabelled.js").read_text()


def _csv(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _data_files(tmp_path):
    customers = [
        "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,acquisition_cost,language"
    ]
    revenue = ["customer,date,amount,external_ref,product"]
    for n in range(1, 13):
        reason = ["recommendation", "advertising", "reputation", ""][n % 4]
        acquired = "2024-02-01" if n <= 8 else "2025-03-01"
        customers.append(f"E{n},Customer {n},customer{n}@example.com,{acquired},{reason},,,,SMB,,en")
        if n <= 8:
            revenue.append(f"E{n},2024-06-01,{100 + n}.00,R24-{n},Plan")
        if n % 5:
            revenue.append(f"E{n},2025-06-01,{120 + n * 3}.00,R25-{n},Plan")
    return _csv(tmp_path, "customers.csv", customers), _csv(tmp_path, "revenue.csv", revenue)


def _log_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _upload(page, base, kind, path):
    page.goto(f"{base}/imports/")
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", path)
    with page.expect_navigation():  # the result page, not the form still shown
        page.click("form.stacked button[type=submit]")
    assert "Succeeded" in page.content() or "succeeded" in page.content(), page.content()[:2000]


def test_staff_imports_launches_and_a_customer_answers_on_a_phone(
    live_server, chromium_browser, shots, tmp_path, reseeded
):
    base = live_server.url
    staff = UserFactory(role="analyst")
    customers_csv, revenue_csv = _data_files(tmp_path)

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, base, staff)
    shots("logged-in", page)

    _upload(page, base, "customers", customers_csv)
    shots("customers-imported", page)
    _upload(page, base, "revenue", revenue_csv)
    shots("revenue-imported", page)

    page.goto(f"{base}/reports/earned-growth/?period=2025")
    page.wait_for_selector("[data-chart=bridge] .main-svg", timeout=20_000)
    page.wait_for_selector("[data-chart=trend] .main-svg", timeout=20_000)
    assert page.locator("[data-chart=bridge] .main-svg").count() >= 1
    shots("earned-growth-charts", page)

    page.goto(f"{base}/surveys/new/")
    page.fill("input[name=name]", "Browser pulse")
    page.click("#main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/surveys/\d+/$"))
    shots("survey-created", page)
    page.check("input[name=confirm]")
    with page.expect_navigation():
        page.click("text=Launch survey")
    shots("survey-launched", page)

    invitations = [message for message in mail.outbox if "customer" in message.to[0]]
    assert len(invitations) == 12, [m.to for m in mail.outbox]
    link = re.search(r"https?://[^\s\"]+/s/[\w-]+/\?score=9", invitations[0].body).group(0)
    token_url = base + link[link.index("/s/"):]

    phone = chromium_browser.new_context(**PHONE)
    mobile = phone.new_page()
    mobile.goto(token_url)
    assert Response.objects.count() == 0  # opening the link stores nothing
    assert mobile.is_checked("input[name=score][value='9']")
    shots("answer-page-phone", mobile)

    assert mobile.evaluate(UNLABELLED_JS) == []
    low = [item for item in mobile.evaluate(CONTRAST_JS, "h1, p, label, legend, button, span")
           if item["ratio"] < 4.5]
    assert low == [], low

    # Keyboard only: move the selection with the arrow keys, type the reason, submit with Enter.
    mobile.focus("input[name=score][value='9']")
    mobile.keyboard.press("ArrowRight")
    assert mobile.is_checked("input[name=score][value='10']")
    mobile.locator("textarea").first.focus()
    mobile.keyboard.type("Fast and friendly")
    shots("answer-filled", mobile)
    mobile.locator("button[type=submit]").focus()
    # Wait for the thank-you page itself: right after the key press the old page is still loaded,
    # and a screenshot taken while the form's navigation starts can hang.
    with mobile.expect_navigation():
        mobile.keyboard.press("Enter")
    mobile.wait_for_selector("h1:has-text('Thank you')")
    shots("answer-thanks", mobile)
    response = Response.objects.get()
    assert (response.score, response.reason) == (10, "Fast and friendly")

    quarter = period_containing(timezone.localdate(), QUARTER)
    page.goto(f"{base}/reports/nps/?period={quarter}")
    page.wait_for_selector("[data-chart=distribution] .main-svg", timeout=20_000)
    assert page.locator(".nps-big").inner_text() == "100"
    assert "Fast and friendly" in page.content()
    shots("nps-dashboard", page)
    context.close()
    phone.close()
