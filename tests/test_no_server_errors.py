"""Hostile but plausible requests answer a client error (or the admin's usual redirect with a
message), never a server error: OPTIONS on the API docs, admin history pages of ids that are no
ids, bulk actions on such a selection, a bogus audit-log filter. Regressions found by a fuzz audit."""

import pytest
from django.test import Client

from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory, UserFactory

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


# --- ids past the 64-bit range (SQLite, the embedded default, refuses them in its driver) ---------

INT64_PAST = "9223372036854775808"  # one more than the largest 64-bit integer
HUGE = "99999999999999999999"


def _refused_as_a_bad_lookup(response):
    """Django's answer to a lookup it cannot use: the list again with ?e=1 (on PostgreSQL, which
    compares a number of any size, the list may simply be empty)."""
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1"), response["Location"]


@pytest.mark.parametrize(
    "changelist",
    ["/admin/accounting/customer/", "/admin/surveys/survey/", "/admin/auth/user/",
     "/admin/django_celery_beat/crontabschedule/"],
)
@pytest.mark.parametrize("value", [INT64_PAST, HUGE])
def test_bulk_action_on_an_id_past_the_integer_range_is_refused(superuser_client, changelist, value):
    """to_python takes any Python int: the delete_selected queryset overflowed SQLite's integer."""
    response = superuser_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [value], "index": "0"}
    )
    assert response.status_code == 302, response.status_code
    assert response["Location"] == changelist


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/auditlog/logentry/?resource_type={INT64_PAST}",
        f"/admin/auditlog/logentry/?resource_type={HUGE}",
        f"/admin/surveys/launch/?survey__exact={HUGE}",
        f"/admin/auth/user/?groups__exact={INT64_PAST}",
    ],
)
def test_list_filter_with_an_id_past_the_integer_range_is_not_a_server_error(superuser_client, url):
    """The audit log's filter checked digits only; Django's related-field filters pass the number
    to the database as is."""
    ResponseFactory()
    _refused_as_a_bad_lookup(superuser_client.get(url))


# --- the date drill-down at the end of the calendar -----------------------------------------------


@pytest.mark.parametrize(
    "changelist, field",
    [
        ("accounting/customer", "acquired_on"),
        ("accounting/revenueentry", "date"),
        ("accounting/costentry", "date"),
        ("accounting/importbatch", "started_at"),
        ("accounting/reasonrequest", "created_at"),
        ("surveys/launch", "launched_at"),
        ("surveys/invitation", "created_at"),
        ("surveys/response", "answered_at"),
        ("auditlog/logentry", "timestamp"),
        ("django_celery_beat/periodictask", "start_time"),
    ],
)
@pytest.mark.parametrize("drill_down", ["__year=9999", "__year=9999&{field}__month=12",
                                        "__year=9999&{field}__month=12&{field}__day=31", f"__year={HUGE}"])
def test_date_drill_down_at_the_end_of_the_calendar_is_refused(superuser_client, changelist, field, drill_down):
    """Django builds the range's end (9999 -> the year 10000) outside its try block: a ValueError or
    an OverflowError, where ?...__month=13 gets the list with ?e=1."""
    ResponseFactory()
    response = superuser_client.get(f"/admin/{changelist}/?{field}{drill_down.format(field=field)}")
    assert response.status_code == 302, response.status_code
    assert response["Location"].endswith("?e=1"), response["Location"]


def test_date_drill_down_to_the_last_month_with_an_end_still_works(superuser_client):
    response = superuser_client.get("/admin/accounting/customer/?acquired_on__year=9999&acquired_on__month=11")
    assert response.status_code == 200, response.status_code


# --- the autocomplete endpoint with a reverse relation ---------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "app_label=surveys&model_name=survey&field_name=responses",
        "app_label=auth&model_name=group&field_name=user",
        "app_label=accounting&model_name=customer&field_name=children",
    ],
)
def test_autocomplete_naming_a_reverse_relation_is_refused_as_an_unknown_field_is(superuser_client, query):
    """Django called the reverse relation's get_limit_choices_to(), which it has not: a 500."""
    assert superuser_client.get(f"/admin/autocomplete/?{query}&term=a").status_code == 403
    assert superuser_client.get("/admin/autocomplete/?app_label=surveys&model_name=survey&field_name=nope"
                                "&term=a").status_code == 403


def test_autocomplete_of_a_forward_relation_still_answers(superuser_client):
    CustomerFactory(external_id="ACME-1")
    response = superuser_client.get(
        "/admin/autocomplete/?app_label=accounting&model_name=customer&field_name=parent&term=ACME")
    assert response.status_code == 200, response.status_code
    assert [row["text"] for row in response.json()["results"]], response.json()


# --- a response's past-version page with an object id that is no id --------------------------------


@pytest.mark.parametrize("object_id", ["abc", "1.5"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_response_past_version_page_of_a_non_numeric_id_is_a_404(superuser_client, object_id, method):
    """The anonymous-survey check filtered by the raw id before the id was checked: a ValueError."""
    ResponseFactory()
    response = getattr(superuser_client, method)(f"/admin/surveys/response/{object_id}/history/1/")
    assert response.status_code == 404, response.status_code
