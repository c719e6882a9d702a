"""The Content Security Policy in a real browser: every kind of page works under it, and Chromium
reports no violation (an inline script, an eval, a resource from elsewhere) on any of them."""

import datetime as dt

import pytest

from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    SurveyFactory,
    UserFactory,
    pay,
)

from .test_main_flow import PASSWORD, _log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PAGES = [
    "/", "/customers/", "/customers/{customer}/", "/imports/", "/surveys/", "/surveys/new/",
    "/surveys/{survey}/", "/surveys/{survey}/edit/", "/responses/", "/responses/{response}/",
    "/reports/earned-growth/?period=2025", "/reports/nps/?period=2025", "/reports/cohorts/",
    "/reports/referrals/", "/api/docs/", "/api/customers/",
    "/admin/", "/admin/accounting/customer/", "/admin/accounting/reasoncategory/1/change/",
    "/admin/surveys/response/", "/admin/django_celery_beat/periodictask/", "/admin/auditlog/logentry/",
]
CHARTS = {"/reports/earned-growth/?period=2025": "bridge", "/reports/nps/?period=2025": "distribution"}


def _watch(page) -> list[str]:
    """Everything Chromium says about the policy, and every script error, on this page."""
    problems = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if "Content Security Policy" in message.text or message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("response", lambda reply: problems.append(f"HTTP {reply.status}: {reply.url}")
            if reply.status >= 400 else None)
    return problems


def test_no_page_breaks_the_policy(live_server, chromium_browser, reseeded):
    base = live_server.url
    admin = UserFactory(role="admin", is_staff=True, is_superuser=True)
    customer = CustomerFactory()
    pay(customer, "2024-05-01", "100.00")
    pay(customer, "2025-05-01", "120.00")
    survey = SurveyFactory(owner=admin)
    # Answered in the dashboards' period, so that their charts have something to draw.
    response = ResponseFactory(score=4, reason="<script>alert(1)</script>", invitation__survey=survey,
                               answered_at=dt.datetime(2025, 5, 2, tzinfo=dt.UTC))
    answer = InvitationFactory(survey=survey)
    ids = {"customer": customer.pk, "survey": survey.pk, "response": response.pk}

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = _watch(page)
    _log_in(page, base, admin)
    for path in STAFF_PAGES:
        reply = page.goto(base + path.format(**ids))
        assert reply.status == 200, path
        assert "script-src 'self'" in reply.headers["content-security-policy"], path
        if path in CHARTS:
            page.wait_for_selector(f"[data-chart={CHARTS[path]}] .main-svg", timeout=20_000)
        if path == "/api/docs/":
            page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
        page.wait_for_load_state("networkidle")
        assert problems == [], (path, problems)

    public = context.new_page()
    problems = _watch(public)
    public.goto(f"{base}/s/{answer.token}/?score=8")
    with public.expect_navigation():
        public.click("button[type=submit]")
    assert "Thank you" in public.content()
    assert problems == [], problems
    context.close()


def test_the_api_docs_send_an_anonymous_browser_to_log_in_and_back(live_server, chromium_browser, reseeded):
    base = live_server.url
    viewer = UserFactory(role="viewer")
    context = chromium_browser.new_context()
    page = context.new_page()

    page.goto(f"{base}/api/docs/")
    assert page.url == f"{base}/accounts/login/?next=/api/docs/"
    page.fill("input[name=username]", viewer.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    context.close()
