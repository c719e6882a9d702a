"""Hostile but plausible requests answer a client error (or the admin's usual redirect with a
message), never a server error: OPTIONS on the API docs, admin history pages of ids that are no
ids, bulk actions on such a selection, a bogus audit-log filter. Regressions found by a fuzz audit."""

import pytest
from django.test import Client

from tests.factories import ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    return client


# --- OPTIONS on the Swagger UI --------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?script"])
def test_options_on_the_api_docs_is_not_a_server_error(query):
    """OPTIONS /api/docs/ (a CORS preflight, an HTTP scanner, `curl -X OPTIONS`) by any logged-in
    user: drf-spectacular's Swagger view renders DRF's metadata with its TemplateHTMLRenderer and
    no template name, a TemplateDoesNotExist -> 500. Every other API route answers OPTIONS."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="viewer"))
    response = client.options(f"/api/docs/{query}")
    assert response.status_code in (200, 405), response.status_code


# --- simple-history's admin pages with an id that is not a number ----------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/surveys/survey/abc/history/",
        "/admin/surveys/survey/1.5/history/",
        "/admin/accounting/reasoncategory/abc/history/",
        "/admin/surveys/response/abc/history/",
    ],
)
def test_history_page_of_a_non_numeric_id_is_not_a_server_error(superuser_client, path):
    """Django's own change and history pages answer a non-numeric id (`/admin/accounting/customer/
    abc/change/`) with a redirect to the list and "doesn't exist"; simple-history's history page
    filters by the raw id and lets ValueError through as a 500."""
    SurveyFactory()
    response = superuser_client.get(path)
    assert response.status_code in (302, 404), response.status_code


@pytest.mark.parametrize("version", ["abc", "1.5"])
def test_past_version_page_of_a_non_numeric_version_is_not_a_server_error(superuser_client, version):
    survey = SurveyFactory()
    response = superuser_client.get(f"/admin/surveys/survey/{survey.pk}/history/{version}/")
    assert response.status_code in (302, 404), response.status_code


# --- admin bulk actions with a selection that is not a list of ids ---------------------------------


@pytest.mark.parametrize(
    "changelist",
    [
        "/admin/accounting/customer/",
        "/admin/accounting/reasoncategory/",
        "/admin/surveys/survey/",
        "/admin/auth/user/",
    ],
)
def test_bulk_action_on_a_non_numeric_selection_is_not_a_server_error(superuser_client, changelist):
    """A changelist's action form posted with `_selected_action=abc` (a tampered form, a stale
    browser extension, a scanner): queryset.filter(pk__in=["abc"]) raises ValueError -> 500.
    Expected: a 400, or the changelist again with "No items selected"."""
    response = superuser_client.post(
        changelist, {"action": "delete_selected", "_selected_action": ["abc"], "index": "0"}
    )
    assert response.status_code in (200, 302, 400), response.status_code


# --- the audit log's changelist filter ------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "", "1.5"])
def test_audit_log_resource_type_filter_with_a_bogus_value_is_not_a_server_error(superuser_client, value):
    """django-auditlog's ResourceTypeFilter filters content_type_id by the raw parameter: the
    admin's list of audit entries with `?resource_type=abc` is a 500, where Django's own filters
    (`?kind__exact=zzz`) redirect with `?e=1`."""
    ResponseFactory()  # something in the audit log
    response = superuser_client.get(f"/admin/auditlog/logentry/?resource_type={value}")
    assert response.status_code in (200, 302, 400), response.status_code


def test_audit_log_show_counts_is_not_a_server_error(superuser_client):
    """The admin's "Show counts" (?_facets=True) hands the filter each choice's id as an int."""
    ResponseFactory()
    response = superuser_client.get("/admin/auditlog/logentry/?_facets=True")
    assert response.status_code == 200, response.status_code
    assert b"Show counts" in response.content or b"Hide counts" in response.content
