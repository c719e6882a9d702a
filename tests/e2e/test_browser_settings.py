"""The pages in browser settings other than a default desktop chromium with JavaScript on.

JavaScript off (the report tables take the page's width, no empty chart frames), 320 CSS px and a
doubled default font size (WCAG 1.4.4 / 1.4.10), forced colors (the chosen score, the charts), and
print (no navigation or forms, no table cut off at the paper's right edge); and the earned-growth
cards keep an eight-digit amount on one line.
"""
import datetime as dt

import pytest

from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory, pay

from .test_main_flow import _log_in
from .test_narrow_screens_and_empty_charts import PAGE_WIDTH, pages_too_wide

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

A4_WIDTH = 718  # CSS px between the default margins of an A4 page


@pytest.fixture
def answered():
    """A customer with revenue and answers in 2025-Q1, a response to open, a reason to show."""
    customer = CustomerFactory(
        name="A customer with a rather long name, Limited",
        segment="Enterprise",
        email="someone.with.a.long.address@example.com",
    )
    pay(customer, "2024-03-01", "100.00")
    pay(customer, "2025-03-01", "1234567.89")
    survey = SurveyFactory(name="Quarterly relationship survey of every enterprise customer")
    responses = [
        ResponseFactory(
            score=score,
            invitation__survey=survey,
            invitation__customer=customer,
            answered_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC),
            reason="Reliable " * 6,
        )
        for score in (2, 7, 9, 10)
    ]
    return customer, survey, responses


def test_report_tables_take_the_whole_width_without_javascript(live_server, chromium_browser, answered):
    # Without JavaScript no chart is drawn, yet each kept a 320 px high empty frame taking half the
    # width: the 11-column trend table beside it was squeezed into a scroll box.
    analyst = UserFactory(role="analyst")
    context = chromium_browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, live_server.url, analyst)
    shown = {}
    for path in ("/reports/nps/?period=2025-Q1", "/reports/earned-growth/?period=2025-Q1"):
        page.goto(live_server.url + path)
        shown[path] = page.evaluate(
            "() => [...document.querySelectorAll('.chart[data-chart]')]"
            ".filter(c => c.getBoundingClientRect().height > 0).map(c => c.dataset.chart)"
        )
    page.goto(live_server.url + "/reports/nps/?period=2025-Q1")
    table, main = page.evaluate(
        "() => [document.querySelector('#trend-title').parentElement.querySelector('.table-wrap').clientWidth,"
        " document.querySelector('#trend-title').parentElement.clientWidth]"
    )
    context.close()
    assert shown == dict.fromkeys(shown, []), f"empty chart frames without JavaScript: {shown}"
    assert table >= main - 2, f"the trend table has {table} px of the section's {main} px"


def test_two_column_pages_reflow_at_320_css_px(live_server, chromium_browser, reseeded, answered):
    # .grid2's columns were at least 320 px wide: in a 320 px window (1280 px at 400 % zoom) the
    # page scrolled sideways on the customer, import, survey and response pages, and the email
    # preview's text version did not wrap its long links.
    customer, survey, responses = answered
    admin = UserFactory(role="admin")
    context = chromium_browser.new_context(viewport={"width": 320, "height": 800})
    page = context.new_page()
    _log_in(page, live_server.url, admin)
    too_wide = pages_too_wide(page, live_server.url, (
        f"/customers/{customer.pk}/",
        "/imports/",
        f"/surveys/{survey.pk}/",
        f"/responses/{responses[0].pk}/",
        f"/surveys/{survey.pk}/preview/",
    ))
    context.close()
    assert too_wide == {}, f"pages wider than a 320 px window: {too_wide}"


def test_body_text_follows_the_readers_default_font_size(live_server, chromium_browser, reseeded):
    # body { font: 15px } ignored a larger default font size: the headings grew, the text did not.
    invitation = InvitationFactory(survey=SurveyFactory(), customer=CustomerFactory(language="en"))
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{invitation.token}/?score=7")
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#nps-scale-hint')).fontSize)")
    width, viewport = page.evaluate(PAGE_WIDTH)
    context.close()
    assert size == 30  # 15 px at the default 16 px, doubled
    assert width <= viewport


def test_the_chosen_score_and_the_charts_stay_visible_in_forced_colors(live_server, chromium_browser, answered):
    # Forced colors replace backgrounds with Canvas: the chosen score looked like all the others once
    # the focus left it, and the charts' grey (#444) text sat on a black Canvas.
    invitation = InvitationFactory(survey=SurveyFactory(), customer=CustomerFactory(language="en"))
    context = chromium_browser.new_context(
        viewport={"width": 390, "height": 800}, forced_colors="active", color_scheme="dark"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{invitation.token}/?score=7")
    page.focus("#id_reason")
    chosen, other = page.evaluate(
        "() => ['#id_score_7 + span', '#id_score_6 + span'].map(s => {"
        " const style = getComputedStyle(document.querySelector(s)); return style.backgroundColor + style.color; })"
    )
    _log_in(page, live_server.url, UserFactory(role="viewer"))
    page.goto(f"{live_server.url}/reports/nps/?period=2025-Q1")
    page.wait_for_load_state("networkidle")
    chart_background = page.evaluate(
        "() => getComputedStyle(document.querySelector('.chart[data-chart]')).backgroundColor"
    )
    context.close()
    assert chosen != other, "the chosen score is drawn like the others"
    assert chart_background == "rgb(255, 255, 255)", "the charts' dark text sits on the forced Canvas"


def test_a_printed_report_or_customer_has_no_navigation_and_no_cut_off_table(live_server, chromium_browser, answered):
    # No print stylesheet: the top bar, the demo banner and the forms were printed, and a scroll box
    # does not scroll on paper: the tables lost their right-hand columns at the page's edge.
    customer = answered[0]
    analyst = UserFactory(role="admin")
    context = chromium_browser.new_context(viewport={"width": A4_WIDTH, "height": 1000})
    page = context.new_page()
    _log_in(page, live_server.url, analyst)
    found = {}
    for path in (
        "/reports/nps/?period=2025-Q1",
        "/reports/earned-growth/?period=2025-Q1",
        f"/customers/{customer.pk}/",
    ):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        page.emulate_media(media="print")
        shown = page.evaluate(
            "() => [...document.querySelectorAll('.topbar, .banner, main form')]"
            ".filter(e => e.getBoundingClientRect().height > 0).map(e => e.className || e.tagName)"
        )
        cut = page.evaluate(
            "() => [...document.querySelectorAll('.table-wrap table')]"
            ".filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
            ".map(t => t.querySelector('th').textContent.trim())"
        )
        if shown or cut:
            found[path] = {"printed": shown, "cut off": cut}
        page.pdf(format="A4")  # prints at all
        page.emulate_media(media="screen")
    context.close()
    assert found == {}


def test_an_earned_growth_card_keeps_an_eight_digit_amount_on_one_line(live_server, chromium_browser, reseeded):
    # In 220 px cards the revenue card of a 1280 px window split 11,092,595.2 | 6 over two lines.
    customer = CustomerFactory()
    pay(customer, "2024-06-01", "10065042.16")
    pay(customer, "2025-06-01", "11092595.26")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, live_server.url, UserFactory(role="analyst"))
    page.goto(live_server.url + "/reports/earned-growth/?period=2025")
    lines = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.eg-card dd')].map(dd => [dd.innerText.trim(),"
        " Math.round(dd.getBoundingClientRect().height / parseFloat(getComputedStyle(dd).lineHeight))]))"
    )
    context.close()
    assert "11,092,595.26" in lines, lines
    assert {text: n for text, n in lines.items() if n > 1} == {}
