"""Accessibility checked by axe-core (bundled by axe-playwright-python) in a real browser.

Customer pages: no violation axe rates moderate or worse. Staff pages: none serious or critical.
Plus what axe cannot see: the focus ring's contrast, and dashboards sending nothing elsewhere.
"""

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe

from accounting.services import reason_request_create
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory, pay

from .test_main_flow import _log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
CUSTOMER_IMPACTS = {"moderate", "serious", "critical"}
STAFF_IMPACTS = {"serious", "critical"}


def violations(page, impacts: set[str]) -> list[str]:
    results = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {node['target']}" for v in results if v["impact"] in impacts
            for node in v["nodes"]]


@pytest.fixture
def answers():
    customer = CustomerFactory(segment="SMB", email="someone@example.com")
    pay(customer, "2024-03-01", "100.00")
    pay(customer, "2025-03-01", "150.00")
    survey = SurveyFactory(name="Relationship survey")
    for score in (2, 7, 9, 10):
        ResponseFactory(score=score, invitation__survey=survey, invitation__customer=customer,
                        answered_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    return customer


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_customer_pages_have_no_violation(live_server, chromium_browser, reseeded, language):
    invitation = InvitationFactory(survey=SurveyFactory(), customer=CustomerFactory(language=language))
    reason_token = reason_request_create(customer=CustomerFactory(language=language)).token
    context = chromium_browser.new_context(**PHONE)
    page = context.new_page()
    found = {}
    for path in (f"/s/{invitation.token}/?score=7", f"/s/{invitation.token}/unsubscribe/", f"/why/{reason_token}/",
                 "/s/no-such-token/"):
        page.goto(live_server.url + path)
        found[path] = violations(page, CUSTOMER_IMPACTS)
    page.goto(f"{live_server.url}/s/{invitation.token}/?score=3")
    with page.expect_navigation():
        page.click("button[type=submit]")
    found["thank-you page"] = violations(page, CUSTOMER_IMPACTS)
    context.close()
    assert found == {path: [] for path in found}


def test_an_answer_text_too_long_is_tied_to_its_box(live_server, chromium_browser, reseeded):
    # The error showed beside the reason box, but nothing told a screen reader it was the box's.
    invitation = InvitationFactory(survey=SurveyFactory(), customer=CustomerFactory(language="en"))
    context = chromium_browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{invitation.token}/?score=5")
    page.evaluate("() => { const box = document.getElementById('id_reason');"
                  " box.removeAttribute('maxlength'); box.value = 'x'.repeat(4001); }")  # as a script could
    with page.expect_navigation():
        page.click("button[type=submit]")
    tied = page.evaluate("() => { const box = document.getElementById('id_reason');"
                         " return [box.getAttribute('aria-describedby'), box.getAttribute('aria-invalid')]; }")
    assert page.locator("#id_reason_error").count() == 1
    context.close()
    assert tied == ["id_reason_error", "true"]


def _contrast(one: tuple, other: tuple) -> float:
    def luminance(rgb):
        def channel(value):
            value /= 255
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_stands_out_from_the_page(live_server, chromium_browser, reseeded):
    # The amber ring had 1.9:1 against the page, under WCAG's 3:1 for focus indicators.
    invitation = InvitationFactory(survey=SurveyFactory(), customer=CustomerFactory(language="en"))
    context = chromium_browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{invitation.token}/")
    rings = []
    for _ in range(4):  # the score group, the two boxes, the button
        page.keyboard.press("Tab")
        rings.append(page.evaluate(
            "() => [getComputedStyle(document.activeElement).outlineColor,"
            " getComputedStyle(document.body).backgroundColor]"))
    context.close()

    def rgb(css: str) -> tuple:
        return tuple(int(part) for part in css[css.index("(") + 1:css.index(")")].split(",")[:3])

    assert min(_contrast(rgb(ring), rgb(page_colour)) for ring, page_colour in rings[1:]) >= 3


def test_staff_pages_have_no_serious_violation(live_server, chromium_browser, reseeded, answers):
    analyst = UserFactory(role="analyst", username="an-analyst-with-a-rather-long-name")
    reason_request_create(customer=answers, user=analyst)
    found = {}
    for viewport in (DESKTOP, PHONE):
        context = chromium_browser.new_context(**viewport)
        page = context.new_page()
        _log_in(page, live_server.url, analyst)
        for path in ("/", "/customers/", f"/customers/{answers.pk}/", "/imports/", "/surveys/", "/responses/",
                     "/reports/nps/?period=2025", "/reports/earned-growth/?period=2025", "/reports/cohorts/",
                     "/reports/referrals/"):
            page.goto(live_server.url + path)
            page.wait_for_load_state("networkidle")
            found[f"{viewport['viewport']['width']} {path}"] = violations(page, STAFF_IMPACTS)
        context.close()
    assert found == {page: [] for page in found}


def test_dashboard_charts_offer_no_upload_to_another_site(live_server, chromium_browser, reseeded, answers):
    # plotly.js showed "Share chart…", which posts the figures to Plotly's cloud; charts.js
    # removed it under an older name.
    context = chromium_browser.new_context(**DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url, UserFactory(role="viewer"))
    page.goto(f"{live_server.url}/reports/nps/?period=2025")
    page.wait_for_selector("[data-chart=distribution] .main-svg")
    titles = page.eval_on_selector_all(".modebar-btn", "buttons => buttons.map(b => b.dataset.title)")
    context.close()
    assert titles and not [title for title in titles if "Share" in title or "Chart Studio" in title]
