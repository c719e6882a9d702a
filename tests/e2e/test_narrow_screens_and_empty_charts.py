"""What a real browser shows on a phone-sized screen, and for a period without data.

On a narrow screen a wide table scrolls inside its box; the page itself never scrolls sideways.
A chart with nothing to draw says so instead of drawing empty axes.
"""

import datetime as dt

import pytest

from accounting.models import ImportBatch
from accounting.services import reason_request_create
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, UserFactory, pay

from .test_main_flow import _log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE_WIDTH = "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"


def pages_too_wide(page, base_url: str, paths) -> dict[str, int]:
    """The width of each of `paths` that scrolls sideways in the page's window."""
    too_wide = {}
    for path in paths:
        page.goto(base_url + path)
        width, viewport = page.evaluate(PAGE_WIDTH)
        if width > viewport:
            too_wide[path] = width
    return too_wide


def test_the_reason_page_fits_a_phone_once_other_is_picked(live_server, chromium_browser, reseeded):
    # The "other" text box kept its 40 columns, and the fieldset grew to 408 px in a 375 px screen.
    token = reason_request_create(customer=CustomerFactory(language="en")).token
    context = chromium_browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/why/{token}/")
    page.check("input[name=reason] >> nth=-1")  # "Other", the last choice
    assert page.is_visible("textarea")
    width, viewport = page.evaluate(PAGE_WIDTH)
    context.close()
    assert width <= viewport


def test_staff_pages_with_wide_tables_fit_a_phone(live_server, chromium_browser, reseeded):
    customer = CustomerFactory(name="A customer with a rather long name, Limited", segment="Enterprise")
    pay(customer, "2025-03-01", "1234567.89")
    survey = SurveyFactory(name="Quarterly relationship survey of every enterprise customer")
    for score in (3, 8, 10):
        ResponseFactory(score=score, invitation__survey=survey, invitation__customer=customer,
                        answered_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC), reason="A long verbatim " * 8)
    analyst = UserFactory(role="analyst")
    batch = ImportBatch.objects.create(kind="revenue", source="ui", filename="a-long-file-name.csv",
                                       status="rejected", error_count=1, created_by=analyst)
    batch.errors.create(row=2, column="amount", message="'1,5' is not an amount: use digits with a dot " * 3)
    context = chromium_browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    _log_in(page, live_server.url, analyst)
    too_wide = pages_too_wide(page, live_server.url, (
        "/customers/", f"/customers/{customer.pk}/", "/imports/", f"/imports/{batch.pk}/", "/surveys/",
        f"/surveys/{survey.pk}/", "/responses/", "/reports/nps/?period=2025", "/reports/earned-growth/?period=2025",
    ))
    context.close()
    assert too_wide == {}, f"pages wider than the 375 px screen: {too_wide}"


def test_charts_of_a_period_without_data_say_there_is_nothing_to_draw(live_server, chromium_browser, reseeded):
    # The revenue bridge and the 0-10 distribution counted zeros as data and drew empty axes.
    viewer = UserFactory(role="viewer")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, live_server.url, viewer)
    shown = {}
    pages = (("/reports/earned-growth/?period=2025", "bridge"), ("/reports/nps/?period=2025", "distribution"))
    for path, chart in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        shown[chart] = page.evaluate(
            "(name) => { const element = document.querySelector(`[data-chart=${name}]`);"
            " return element.querySelector('.chart-empty') ? element.querySelector('.chart-empty').textContent"
            " : element.querySelector('.main-svg') ? 'a plot' : 'nothing'; }",
            chart,
        )
    context.close()
    assert shown == dict.fromkeys(("bridge", "distribution"), "Nothing to draw yet: see the table.")
