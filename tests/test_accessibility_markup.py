"""Accessibility of the staff pages' markup: what a screen reader is told about a form control
names elements of the page; the API docs say their language and have a level-one heading; the
browsable API, the admin's date/time and autocomplete fields and the email preview name their parts
(axe checks them in a browser: tests/e2e/test_accessibility_staff_tools.py); and a page that follows
work in progress reloads itself only while the reader lets it (WCAG 2.2.1).

Django 5.2 gives a field with help text `aria-describedby="<id>_helptext"`, and a field with errors
`aria-invalid="true"` plus `<id>_error`: the template renders elements with those ids, or a screen
reader announces "invalid entry" with no message, and skips the help text.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from surveys import views as survey_views
from surveys.models import InvitationState
from tests.e2e.conftest import CHROMIUM, FLAGS, _playwright_ok
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory, UserFactory
from tests.form_data import survey_form_data

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    """The ids of a page, its controls' aria-describedby, its live regions (each a <p>), its scripts."""

    def __init__(self):
        super().__init__()
        self.ids, self.described, self.live, self.scripts = set(), [], [], []
        self._open_live = 0
        self.tags = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("aria-describedby"):
            self.described.append((a.get("name") or tag, a["aria-describedby"].split()))
        if a.get("aria-live"):
            self.live.append([a["aria-live"], ""])
            self._open_live += 1
        if tag == "script":
            self.scripts.append(a.get("src"))

    def handle_endtag(self, tag):
        if tag == "p" and self._open_live:
            self._open_live -= 1

    def handle_data(self, data):
        if self._open_live:
            self.live[-1][1] += data


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def dangling(html: str) -> list[str]:
    """`name -> missing id` for each aria-describedby reference that names no element of the page."""
    page = parse(html)
    return [f"{name} -> {ref}" for name, refs in page.described for ref in refs if ref not in page.ids]


# --- Errors and help texts: the descriptions a control names are on the page ----------------------

@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/customers/?reason_class=bogus", "reason_class"),
        ("/responses/?survey=zz", "survey"),
        ("/reports/nps/?period=bogus", "period"),
        ("/reports/earned-growth/?period=bogus", "period"),
        ("/reports/cohorts/?by=bogus", "by"),
        ("/reports/referrals/?period=bogus", "period"),
    ],
)
def test_a_refused_filter_value_points_its_control_at_the_error_message(client_as, url, field):
    response = client_as("analyst").get(url)

    assert f'aria-describedby="id_{field}_error"' in response.text  # the control is described...
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>[^<]+: ', response.text)  # ...by its message
    assert 'aria-invalid="true"' in response.text
    assert dangling(response.text) == []


def test_the_launch_forms_help_texts_are_the_descriptions_its_fields_name(client_as):
    survey = SurveyFactory()

    response = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk]))

    assert reverse("surveys:survey-launch", args=[survey.pk]) in response.text  # the launch form is there
    assert 'id="id_segment_helptext"' in response.text and 'id="id_sample_percent_helptext"' in response.text
    assert dangling(response.text) == []


def test_a_refused_launch_points_each_field_at_its_help_and_its_error(client_as):
    survey = SurveyFactory()

    response = client_as("analyst").post(reverse("surveys:survey-launch", args=[survey.pk]), {"sample_percent": "500"})

    assert response.status_code == 400
    assert 'aria-describedby="id_sample_percent_helptext id_sample_percent_error"' in response.text
    assert dangling(response.text) == []


def test_the_customer_reason_forms_help_text_is_the_description_its_field_names(client_as):
    customer = CustomerFactory()

    response = client_as("analyst").get(reverse("accounting:customer-detail", args=[customer.pk]))

    assert reverse("accounting:customer-reason", args=[customer.pk]) in response.text
    assert 'id="id_reason_text_helptext"' in response.text
    assert dangling(response.text) == []


def test_a_refused_reason_points_each_field_at_its_help_and_its_error(client_as):
    customer = CustomerFactory()

    response = client_as("analyst").post(reverse("accounting:customer-reason", args=[customer.pk]),
                                         {"reason": "0", "reason_text": "x" * 2001})

    assert response.status_code == 400
    assert 'aria-describedby="id_reason_text_helptext id_reason_text_error"' in response.text
    assert dangling(response.text) == []


# --- The API docs (drf-spectacular's Swagger UI, overridden in templates/) -------------------------

def test_the_api_docs_page_says_its_language_and_has_a_level_one_heading(client_as):
    response = client_as("viewer").get(reverse("api-docs"))

    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    headings = [attrs for tag, attrs in parse(response.text).tags if tag == "h1"]
    # One, hidden from sight by Swagger UI's own clip class (its title shows as an <h2>).
    assert headings == [{"class": "clip"}]
    assert '<h1 class="clip">CX Platform API</h1>' in response.text


def test_the_api_docs_page_still_runs_swagger_ui_from_files_only(client_as):
    response = client_as("viewer").get(reverse("api-docs"))

    scripts = parse(response.text).scripts
    assert None not in scripts  # no inline script: the CSP allows none
    assert scripts[-1] == reverse("api-docs") + "?script="  # the UI's settings, served apart
    assert '<div id="swagger-ui">' in response.text


def test_the_api_docs_page_darkens_swagger_uis_faint_text_colours(client_as):
    response = client_as("viewer").get(reverse("api-docs"))

    sheets = [a["href"] for tag, a in parse(response.text).tags if tag == "link" and a.get("rel") == "stylesheet"]
    # After Swagger UI's own, so that its rules win (the version badge, the links, the method badges).
    assert sheets[-1].endswith("css/swagger-ui-contrast.css") and sheets[0].endswith("swagger-ui.css")


# --- The browsable API (DRF's templates, overridden in templates/rest_framework/) ------------------

def unlabelled(html: str) -> list[str]:
    """The form controls of a page that nothing names: no <label for=...>, aria-label or title."""
    tags = parse(html).tags
    labelled = {a.get("for") for tag, a in tags if tag == "label"}
    return [a.get("name") or tag for tag, a in tags
            if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button")
            and a.get("id") not in labelled and not a.get("aria-label") and not a.get("title")]


@pytest.mark.parametrize("path", ["/api/", "/api/surveys/", "/api/customers/", "/api/surveys/{survey}/"])
def test_the_browsable_api_says_its_language_and_names_its_controls(client_as, path):
    # DRF wrote a bare <html>, a format caret named only by a title its tooltip script takes away,
    # and HTML forms whose labels named no control (DRF's horizontal templates have no for=/id).
    survey = SurveyFactory()

    response = client_as("admin").get(path.format(survey=survey.pk), HTTP_ACCEPT="text/html")

    page = parse(response.text)
    assert response.status_code == 200
    assert page.tags[0] == ("html", {"lang": "en"})
    carets = [a for tag, a in page.tags if tag == "button" and "dropdown-toggle" in a.get("class", "")]
    assert carets == [] or all(a.get("aria-label") for a in carets)
    assert unlabelled(response.text) == []
    assert response.text.count('<link rel="stylesheet" type="text/css" href="/static/css/browsable-api.css"/>') == 1


@pytest.mark.parametrize("path", ["/api/customers/", "/api/responses/", "/api/revenue/", "/api/invitations/"])
def test_the_browsable_apis_filters_dialog_names_its_search_box_and_each_bound_of_a_range(client_as, path):
    # DRF's search box had no label, and django-filter's date range two inputs under a label with
    # no for= (hidden until the Filters button opens the dialog, so axe never saw them).
    response = client_as("admin").get(path, HTTP_ACCEPT="text/html")

    assert 'id="filtersModal"' in response.text
    assert unlabelled(response.text) == []
    if path != "/api/invitations/":
        bounds = [a["aria-label"] for tag, a in parse(response.text).tags
                  if tag == "input" and a.get("name", "").endswith(("_after", "_before")) and "aria-label" in a]
        assert len(bounds) == 2 and bounds[0].endswith(": after") and bounds[1].endswith(": before")


def test_the_browsable_api_offers_the_labelled_raw_data_form_only(client_as):
    survey = SurveyFactory()
    client = client_as("admin")

    listing = client.get("/api/surveys/", HTTP_ACCEPT="text/html").text
    detail = client.get(f"/api/surveys/{survey.pk}/", HTTP_ACCEPT="text/html").text

    for page in (listing, detail):
        assert 'class="form-horizontal" novalidate' not in page  # DRF's HTML form, built from the serializer
        tags = parse(page).tags
        labels = {a["for"]: a.get("class") for tag, a in tags if tag == "label" and a.get("for")}
        controls = {a["id"]: tag for tag, a in tags if tag in ("select", "textarea") and a.get("id")}
        assert labels.keys() >= {"id__content_type", "id__content"}
        assert controls.items() >= {("id__content_type", "select"), ("id__content", "textarea")}
    assert 'data-method="OPTIONS"' in detail and 'data-target="#deleteModal"' in detail  # still offered


# --- The Django admin: the split date/time widget and the customer's Select2 boxes -----------------

def _superuser_client(client):
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("url", "field"),
    [("/admin/surveys/survey/{survey}/change/", "next_launch_at"),
     ("/admin/django_celery_beat/periodictask/add/", "start_time")],
)
def test_the_admins_date_and_time_inputs_each_have_a_label(client, url, field):
    # Django 5.2 writes "Date:" and "Time:" as bare text beside the two inputs.
    response = _superuser_client(client).get(url.format(survey=SurveyFactory().pk))

    assert response.status_code == 200
    for part, text in ((0, "Date:"), (1, "Time:")):
        assert re.search(rf'<label for="id_{field}_{part}"[^>]*>{text}</label> <input ', response.text), part
        assert f'id="id_{field}_{part}"' in response.text


def test_the_customers_autocomplete_boxes_carry_a_name_for_select2(client):
    # Select2 names its combobox from the <select>'s title, and only from it.
    customer = CustomerFactory()

    response = _superuser_client(client).get(f"/admin/accounting/customer/{customer.pk}/change/")

    selects = {a["name"]: a.get("title") for tag, a in parse(response.text).tags
               if tag == "select" and "admin-autocomplete" in a.get("class", "")}
    assert selects == {"referred_by": "Referred by", "parent": "Parent"}


# --- The email preview's headings ------------------------------------------------------------------

def _headings(html: str) -> list[int]:
    return [int(tag[1]) for tag, _ in parse(html.split("<main", 1)[1]).tags if re.fullmatch(r"h[1-6]", tag)]


def test_the_email_preview_page_goes_from_its_title_one_level_down(client_as):
    # Its <h1> was followed by the shared include's <h3>s, skipping a level (axe heading-order).
    survey = SurveyFactory()

    response = client_as("analyst").get(reverse("surveys:survey-preview", args=[survey.pk]))

    assert _headings(response.text) == [1, 2, 2]


def test_the_edit_pages_preview_keeps_its_headings_under_its_own(client_as):
    survey = SurveyFactory()

    response = client_as("analyst").post(reverse("surveys:survey-edit", args=[survey.pk]),
                                         survey_form_data(preview="1"))

    assert response.status_code == 200
    assert _headings(response.text) == [1, 2, 3, 3]


# --- Pages following work in progress: a reload the reader can stop --------------------------------

def _sending_survey():
    survey = SurveyFactory()
    InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None)
    return survey


def test_a_sending_surveys_page_reloads_by_script_with_its_status_in_a_polite_live_region(client_as):
    survey = _sending_survey()

    response = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk]))

    page = parse(response.text)
    assert 'http-equiv="refresh"' not in response.text  # no reload the reader cannot pause
    assert page.live == [["polite", "Sending: this page refreshes every 15 seconds."]]
    assert any(src and src.endswith("js/autorefresh.js") for src in page.scripts)
    # Without the script, nothing reloads, and the page says how to see the progress.
    assert "Sending: reload the page to see the progress." in response.text


def test_a_refused_launch_does_not_reload_its_post_only_address(client_as):
    survey = _sending_survey()

    response = client_as("analyst").post(reverse("surveys:survey-launch", args=[survey.pk]), {})

    assert response.status_code == 400
    assert "Sending" not in response.text and 'http-equiv="refresh"' not in response.text
    assert "data-autorefresh-seconds" not in response.text and "autorefresh.js" not in response.text


# --- The reload in a real browser ----------------------------------------------------------------

def _watch_the_reload(base: str, username: str, survey_url: str) -> dict:
    """Drives the survey page in Chromium; what the test asserts, as seen. It runs in a thread of its
    own: the session's browser (tests/e2e) keeps Playwright's sync API busy in the main one."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.test_main_flow import _log_in

    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        user = type("User", (), {"username": username})
        page = browser.new_context().new_page()
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        _log_in(page, base, user)
        page.goto(base + survey_url)
        status, button = page.locator("[data-autorefresh-status]"), page.locator("[data-autorefresh-toggle]")
        seen["status"] = (status.text_content(), status.get_attribute("aria-live"), status.is_visible())
        seen["fallback shown"] = page.get_by_text("Sending: reload the page").is_visible()
        with page.expect_navigation(timeout=5_000):  # it reloads by itself
            pass

        button.click()
        seen["paused"] = (button.text_content(), status.text_content())
        page.evaluate("window.notReloaded = true")
        page.wait_for_timeout(2_500)
        seen["reloaded while paused"] = not page.evaluate("window.notReloaded === true")

        with page.expect_navigation(timeout=5_000):
            button.click()  # resumed: it reloads again
        page.fill("input[name=segment]", "Enterprise")
        seen["after a change"] = (button.text_content(), status.text_content().split(" ")[:3])
        page.wait_for_timeout(2_500)
        seen["typed value kept"] = page.input_value("input[name=segment]")
        seen["errors"] = errors

        no_script = browser.new_context(java_script_enabled=False).new_page()
        _log_in(no_script, base, user)
        no_script.goto(base + survey_url)
        seen["without script"] = (no_script.get_by_text("Sending: reload the page to see the progress.").is_visible(),
                                  no_script.locator("[data-autorefresh-status]").is_visible())
        browser.close()
    return seen


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_survey_page_reloads_until_paused_or_a_field_is_changed(live_server, monkeypatch):
    if not Path(CHROMIUM).exists() or not _playwright_ok():
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(f"E2E_REQUIRED is set but no browser at {CHROMIUM}")
        pytest.skip(f"browser test: install Debian's chromium ({CHROMIUM} not found)")
    from tests.integration.conftest import _reseed_defaults

    _reseed_defaults()  # the roles' groups, truncated by the transactional test before
    monkeypatch.setattr(survey_views, "REFRESH_SECONDS", 1)
    survey = _sending_survey()
    user = UserFactory(role="admin")

    with ThreadPoolExecutor(max_workers=1) as thread:
        seen = thread.submit(_watch_the_reload, live_server.url, user.username, f"/surveys/{survey.pk}/").result()

    assert seen["status"] == ("Sending: this page refreshes every 1 seconds.", "polite", True)
    assert seen["fallback shown"] is False
    assert seen["paused"] == ("Resume", PAUSED)
    assert seen["reloaded while paused"] is False
    assert seen["after a change"] == ("Resume", ["Auto-refresh", "paused", "while"])  # a field changed: no reload...
    assert seen["typed value kept"] == "Enterprise"  # ...takes the value away
    assert seen["errors"] == []  # nothing the CSP refused
    assert seen["without script"] == (True, False)  # no reload, and the page says to reload it


PAUSED = "Auto-refresh paused: reload the page, or resume, to see the progress."
