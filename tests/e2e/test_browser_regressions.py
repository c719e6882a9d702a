"""Staff and customer flows in a real browser (Debian's chromium, Playwright), regressions found by
a browser audit: a chart's "download as PNG" under the CSP, a hidden "other" text never stored
with another reason, no reload taking the focus out of a field."""

import datetime as dt
import re

import pytest
from django.core import mail

from accounting.services import reason_request_ask
from surveys import views as survey_views
from surveys.models import InvitationState
from tests.e2e.test_main_flow import _log_in
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_download_plot_as_png_button_of_a_chart_downloads_an_image(live_server, chromium_browser, reseeded):
    base = live_server.url
    analyst = UserFactory(role="analyst")
    survey = SurveyFactory(owner=analyst)
    for score in (2, 7, 9, 10):
        ResponseFactory(invitation__survey=survey, score=score, answered_at=dt.datetime(2025, 5, 2, tzinfo=dt.UTC))

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    _log_in(page, base, analyst)
    page.goto(f"{base}/reports/nps/?period=2025")
    page.wait_for_selector("[data-chart=distribution] .main-svg", timeout=20_000)
    page.hover("[data-chart=distribution]")
    button = page.locator("[data-chart=distribution] .modebar-btn[data-title='Download plot as a PNG']")
    assert button.count() == 1  # plotly offers it on every chart

    downloads = []
    page.on("download", lambda download: downloads.append(download.suggested_filename))
    button.click()
    page.wait_for_timeout(5_000)
    context.close()

    # Plotly draws the PNG from a blob: image, which the policy's img-src ('self' data:) refuses:
    # the button does nothing but log a violation.
    assert refused == [], refused
    assert len(downloads) == 1


def test_text_typed_for_other_is_not_stored_once_the_customer_picks_another_reason(
    live_server, chromium_browser, reseeded, fresh_rate_limits
):
    staff = UserFactory(role="analyst")
    customer = CustomerFactory()
    reason_request_ask(customer=customer, user=staff)
    link = re.search(r"/why/[\w-]+/", mail.outbox[-1].body).group(0)

    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + link)
    page.locator("label:has-text('Other') input").check()
    page.fill("textarea[name=reason_text]", "A podcast")
    page.locator("input[name=reason]").first.check()  # changed their mind: recommended by a friend
    hidden = not page.is_visible("textarea[name=reason_text]")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "Thank you" in page.content()
    context.close()

    customer.refresh_from_db()
    assert hidden  # the "If other, please tell us the reason" box went away with its text...
    assert customer.reason.slug == "recommendation"
    # ...but the text was still sent and stored: staff read "Recommended by a friend" with the free
    # text "A podcast", an answer the customer never gave.
    assert customer.reason_text == ""


def test_no_reload_takes_the_focus_out_of_a_field_the_user_is_in(
    live_server, chromium_browser, reseeded, monkeypatch
):
    monkeypatch.setattr(survey_views, "REFRESH_SECONDS", 1)
    base = live_server.url
    admin = UserFactory(role="admin")
    survey = SurveyFactory()
    InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None)

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _log_in(page, base, admin)
    page.goto(f"{base}/surveys/{survey.pk}/")
    page.wait_for_selector("[data-autorefresh-toggle]")
    page.evaluate("window.sameDocument = true")
    # A keyboard user tabs into the launch form's Segment field (or taps it on a phone), about to type.
    page.focus("input[name=segment]")
    page.wait_for_timeout(2_500)
    reloaded = page.evaluate("window.sameDocument !== true")
    focused = page.evaluate("document.activeElement.name || document.activeElement.tagName")
    context.close()

    # The page reloads under the user: the focus goes back to the top of the page (the phone's
    # keyboard closes), although they had started to fill in the form.
    assert not reloaded
    assert focused == "segment"
