"""Accessibility, checked by axe-core in a real browser, of the staff pages that are not the
platform's own templates: the browsable API (DRF's), the API docs (Swagger UI), the admin's change
forms (Django's widgets, Select2) and the email preview. None may have a serious or critical
violation; the email preview skips no heading level.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.factories import CustomerFactory, SurveyFactory, UserFactory

from .test_accessibility import DESKTOP, PHONE, STAFF_IMPACTS, violations
from .test_main_flow import _log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Inside Select2's combobox, the text of the current choice is a span of role="textbox" (Select2
# 4.0.13, vendored by Django), which has no name while nothing is chosen. It is Select2's markup, not
# a control: the combobox around it, which takes the focus, is checked for its name instead.
SELECT2_TEXT = re.compile(r"aria-input-field-name \(serious\): \['#select2-id_\w+-container'\]$")


def _admin():
    return UserFactory(role="admin", is_staff=True, is_superuser=True)


def _scan(browser, base, paths, viewport=DESKTOP) -> dict[str, list[str]]:
    context = browser.new_context(**viewport)
    page = context.new_page()
    _log_in(page, base, _admin())
    found = {}
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        found[path] = violations(page, STAFF_IMPACTS)
    context.close()
    return found


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_browsable_api_has_no_serious_violation(live_server, chromium_browser, reseeded, viewport):
    # DRF's pages had no <html lang>, an unnamed caret on the format menu, HTML-form fields whose
    # <label> named no control, a breadcrumb of 4.2:1 (#777 on #f5f5f5) and a DELETE button of 4.0:1.
    survey = SurveyFactory()
    paths = ("/api/", "/api/surveys/", f"/api/surveys/{survey.pk}/", "/api/customers/")
    found = _scan(chromium_browser, live_server.url, paths, viewport)
    assert found == {path: [] for path in found}


def test_the_api_docs_have_no_serious_violation(live_server, chromium_browser, reseeded):
    # The version badge (white on #7d8492) and the schema's address were under 4.5:1. Swagger UI's
    # own markup puts the copy and lock buttons inside each operation's summary button
    # (nested-interactive): that is Swagger UI's to change, so this rule is left out here.
    context = chromium_browser.new_context(**DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url, _admin())
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    options = {"resultTypes": ["violations"], "rules": {"nested-interactive": {"enabled": False}}}
    results = Axe().run(page, options=options).response["violations"]
    context.close()
    found = [f"{v['id']} ({v['impact']}): {node['target']}" for v in results if v["impact"] in STAFF_IMPACTS
             for node in v["nodes"]]
    assert found == []


def test_admin_change_forms_have_no_serious_violation(live_server, chromium_browser, reseeded, shots):
    # Django's split date/time widget wrote "Date:" and "Time:" as bare text (no label for either
    # input), and Select2's comboboxes for a customer's referrer and parent had no name. The
    # breadcrumbs' links differed from their text by colour alone (1.42:1): axe judges them only when
    # the page's title is longer than the links, which a random name was in some runs: long names here.
    survey = SurveyFactory(name="Relationship survey of the second half of the year")
    customer = CustomerFactory(name="Latoya Phillips-Montgomery of Northwind Traders")
    paths = (f"/admin/surveys/survey/{survey.pk}/change/", "/admin/django_celery_beat/periodictask/add/",
             f"/admin/accounting/customer/{customer.pk}/change/")
    context = chromium_browser.new_context(**DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url, _admin())
    found = {}
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        shots(path.split("/")[3], page)
        found[path] = [v for v in violations(page, STAFF_IMPACTS) if not SELECT2_TEXT.match(v)]
    named = [page.get_by_role("combobox", name=name).count() for name in ("Referred by", "Parent")]
    context.close()
    assert found == {path: [] for path in found}
    assert named == [1, 1]


def test_the_email_preview_skips_no_heading_level(live_server, chromium_browser, reseeded):
    # The preview page went from its <h1> to the shared include's <h3>s.
    survey = SurveyFactory()
    context = chromium_browser.new_context(**DESKTOP)
    page = context.new_page()
    _log_in(page, live_server.url, _admin())
    page.goto(f"{live_server.url}/surveys/{survey.pk}/preview/")
    levels = page.eval_on_selector_all("main :is(h1, h2, h3, h4)", "hs => hs.map(h => +h.tagName[1])")
    options = {"runOnly": {"type": "rule", "values": ["heading-order"]}, "resultTypes": ["violations"]}
    order = [v["id"] for v in Axe().run(page, options=options).response["violations"]]
    context.close()
    assert levels == [1, 2, 2]
    assert order == []
