"""Every URL pattern of the project, walked as anonymous, viewer, analyst and admin (SPEC §1).

Each named route needs a decision in ACCESS below; a route added without one fails
`test_every_route_has_a_decision`. Pages send anonymous users to the login page and answer 403
to a logged-in role without the permission; the API answers 401 and 403. "Allowed" means neither.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
)

pytestmark = pytest.mark.django_db

ROLES = (None, "viewer", "analyst", "admin")
STAFF = {"viewer", "analyst", "admin"}
WRITERS = {"analyst", "admin"}
EVERYONE = {None, *STAFF}

# name: (who may, method). Who may: a set of roles (None = anonymous).
ACCESS = {
    # public
    "healthz": (EVERYONE, "get"), "login": (EVERYONE, "get"),
    # the API's description: every logged-in user, whatever the role (SPEC §1: every endpoint checks)
    "api-schema": (STAFF, "get"), "api-docs": (STAFF, "get"),
    "reason-answer": (EVERYONE, "get"), "survey-answer": (EVERYONE, "get"),
    "survey-unsubscribe": (EVERYONE, "get"),
    # every logged-in user
    "home": (STAFF, "get"), "logout": (EVERYONE, "post"), "password_change": (STAFF, "get"),
    "password_change_done": (STAFF, "get"),
    # customers and imports: analysts and admins (viewers: dashboards only)
    "accounting:customer-list": (WRITERS, "get"), "accounting:customer-detail": (WRITERS, "get"),
    "accounting:customer-reason": (WRITERS, "post"), "accounting:customer-reason-request": (WRITERS, "post"),
    "accounting:import-list": (WRITERS, "get"), "accounting:import-detail": (WRITERS, "get"),
    # surveys and responses
    "surveys:survey-list": (WRITERS, "get"), "surveys:survey-create": (WRITERS, "get"),
    "surveys:survey-detail": (WRITERS, "get"), "surveys:survey-edit": (WRITERS, "get"),
    "surveys:survey-preview": (WRITERS, "get"), "surveys:survey-launch": (WRITERS, "post"),
    "surveys:survey-retry-failed": (WRITERS, "post"),
    "surveys:response-list": (WRITERS, "get"), "surveys:response-export": (WRITERS, "get"),
    "surveys:response-detail": (WRITERS, "get"), "surveys:response-follow-up": (WRITERS, "post"),
    # dashboards: every role reads, analysts and admins ask for recomputes
    "reports:earned-growth": (STAFF, "get"), "reports:nps": (STAFF, "get"),
    "reports:earned-growth-recompute": (WRITERS, "post"),
    "cohorts:cohorts": (STAFF, "get"), "cohorts:referrals": (STAFF, "get"),
    # API
    # HTTP Basic credentials in, a token out: without them, 401 for everybody
    "api-login": (set(), "post"), "api-logout": (STAFF, "post"),
    "api-root": (STAFF, "get"),
    "api-earned-growth": (STAFF, "get"), "api-nps": (STAFF, "get"),
    **{f"api-{name}": (WRITERS, "get") for name in (
        "customer-list", "customer-detail", "reason-category-list", "reason-category-detail", "revenue-list",
        "revenue-detail", "cost-list", "cost-detail", "import-list", "import-detail", "import-errors",
        "survey-list", "survey-detail", "invitation-list", "invitation-detail", "response-list",
        "response-detail")},
    "api-customer-bulk": (WRITERS, "post"), "api-customer-reason": (WRITERS, "post"),
    "api-survey-launch": (WRITERS, "post"), "api-survey-invite": (WRITERS, "post"),
    "api-survey-retry-failed": (WRITERS, "post"),
}
# Routes answered by other rules: the Django admin (staff status; its own test) and the email
# provider webhooks (django-anymail: served only with ANYMAIL_WEBHOOK_SECRET, behind HTTP basic auth
# with it; tests/test_webhook_mount.py).
OTHER_RULES = ("admin:", "anymail:")
# Pages under /api/: called with the browser's session, and anonymous users go to the login page.
API_PAGES = {"api-docs"}


def _routes(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name, pattern


def all_route_names() -> set[str]:
    return {name for name, _ in _routes(get_resolver().url_patterns) if not name.startswith(OTHER_RULES)}


def test_every_route_has_a_decision():
    assert sorted(all_route_names() - ACCESS.keys()) == [], "add the new routes to ACCESS"
    assert sorted(ACCESS.keys() - all_route_names()) == [], "ACCESS names routes that are gone"


@pytest.fixture
def objects():
    customer = CustomerFactory()
    survey = SurveyFactory()
    response = ResponseFactory(invitation=InvitationFactory(survey=survey, customer=customer))
    from accounting.models import ImportBatch

    return {
        "customer": customer.pk, "survey": survey.pk, "response": response.pk,
        "invitation": response.invitation_id, "revenue": RevenueEntryFactory(customer=customer).pk,
        "cost": CostEntryFactory(customer=customer).pk,
        "import": ImportBatch.objects.create(kind="revenue", source="ui").pk,
    }


def _url(name: str, pattern: URLPattern, objects: dict) -> str:
    kwargs = {}
    for key in pattern.pattern.converters if hasattr(pattern.pattern, "converters") else {}:
        kwargs[key] = _value(name, key, objects)
    for key in getattr(pattern.pattern, "regex", re.compile("")).groupindex:
        if key != "format":
            kwargs[key] = _value(name, key, objects)
    return reverse(name, kwargs=kwargs or None)


def _value(name: str, key: str, objects: dict):
    if key == "token":
        return "A" * 43
    if key == "slug":
        return "recommendation"
    for thing, pk in objects.items():
        if thing in name:
            return pk
    raise AssertionError(f"no object for {name} {key}")


def _patterns() -> dict:
    found = {}
    for name, pattern in _routes(get_resolver().url_patterns):
        if name in ACCESS and "format" not in getattr(pattern.pattern, "regex", re.compile("")).groupindex:
            found.setdefault(name, pattern)
    return found


def _allowed(response, name: str = "") -> bool:
    if response.status_code in (401, 403):
        return False
    if name == "logout":  # logging out ends on the login page by design
        return response.status_code == 302
    return not (response.status_code == 302 and "/accounts/login/" in response.get("Location", ""))


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
def test_every_route_lets_in_exactly_the_roles_of_spec_1(role, objects, client, user_with_role):
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    user = user_with_role(role)

    def callers():
        """Fresh credentials for every call: the logout routes end the session and the token."""
        api = APIClient()
        if user is not None:
            client.force_login(user)
            api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
        return client, api

    wrong = []
    for name, pattern in sorted(_patterns().items()):
        allowed_roles, method = ACCESS[name]
        is_api = name.startswith("api-") and name not in API_PAGES
        url = _url(name, pattern, objects)
        client_, api = callers()
        caller = api if is_api else client_
        response = getattr(caller, method)(url)
        if _allowed(response, name) != (role in allowed_roles):
            wrong.append(f"{method.upper()} {url} ({name}) -> {response.status_code}")
        if role is None and not _allowed(response, name) and is_api and response.status_code != 401:
            wrong.append(f"{url}: anonymous API calls get 401, not {response.status_code}")
        if role is not None and allowed_roles and not _allowed(response, name) and response.status_code != 403:
            wrong.append(f"{url}: a role without the permission gets 403, not {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_gets_change_nothing_anywhere(objects, client, user_with_role):
    """A GET on every route, as an admin, leaves every table as it was.

    One deliberate exception: a dashboard opened on a period never computed fills the report
    snapshot cache (reports.ReportSnapshot, derived figures, idempotent), as the nightly run would.
    """
    from django.apps import apps

    def counts():
        return {model._meta.label: model.objects.count() for model in apps.get_models()
                if model._meta.managed and not model._meta.proxy
                and not model._meta.label.startswith(("sessions.", "knox.", "admin.", "reports.ReportSnapshot"))}

    client.force_login(user_with_role("admin"))
    before = counts()
    for name, pattern in _patterns().items():
        if ACCESS[name][1] == "get":
            client.get(_url(name, pattern, objects))
    assert counts() == before


@pytest.mark.parametrize("role", ("viewer", "analyst"))
def test_only_admins_enter_the_django_admin(role, client, user_with_role):
    client.force_login(user_with_role(role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admins_enter_the_django_admin(client, user_with_role):
    client.force_login(user_with_role("admin"))
    assert client.get(reverse("admin:index")).status_code == 200


CSRF_EXEMPT = {"survey-unsubscribe"}  # RFC 8058 one-click: mail providers POST without a token


def test_every_form_needs_its_csrf_token(objects, user_with_role):
    """A POST without the CSRF token to every page route (not the token-authenticated API) is refused."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role("admin"))
    accepted = []
    for name, pattern in sorted(_patterns().items()):
        if name.startswith("api-") or name in CSRF_EXEMPT:
            continue
        response = client.post(_url(name, pattern, objects))
        if response.status_code not in (403, 405):
            accepted.append(f"{name}: {response.status_code}")
    assert not accepted, "\n".join(accepted)


def test_the_one_click_unsubscribe_is_the_only_csrf_exempt_form():
    from django.urls import get_resolver

    exempt = {name for name, pattern in _routes(get_resolver().url_patterns)
              if getattr(pattern.callback, "csrf_exempt", False) and not name.startswith(("api-", "anymail:"))}
    assert exempt == CSRF_EXEMPT
