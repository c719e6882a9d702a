"""The REST API as an integration uses it (SPEC §2/§7; README "REST API", "Imports", "Acquisition
reason capture"): dates that do not depend on a header, a rejected bulk request that lists every
error at once, each by its own column, a reason echo that changes nothing, a PATCH answer that is
the customer as stored, and an expired token that says so."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import resolve
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import CostEntry, Customer, RevenueEntry
from cxplatform.api_auth import TOKEN_EXPIRED
from cxplatform.api_views import LoginView
from tests.factories import CustomerFactory, ResponseFactory, UserFactory, pay, reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


# --- 1. Date filters are ISO dates, whatever the client's Accept-Language ------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_ledger_date_filter_does_not_read_a_locale_date_by_accept_language(api, language):
    """`date_after`/`date_before` are documented as inclusive ISO dates. A non-ISO `05/01/2025`
    was read as 1 May under Accept-Language en and as 5 January under fr: the same request of an
    integration returned other ledger lines depending on a header."""
    customer = CustomerFactory(external_id="D1")
    pay(customer, "2025-01-05", "10.00")
    pay(customer, "2025-05-01", "20.00")

    response = api.get(
        "/api/revenue/?date_after=05/01/2025&date_before=05/01/2025", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400, response.json()
    assert set(response.json()) == {"date_after", "date_before"}


def test_customer_acquired_on_filter_is_not_read_as_a_german_date(api):
    CustomerFactory(external_id="EARLY", acquired_on=dt.date(2025, 1, 5))
    CustomerFactory(external_id="LATE", acquired_on=dt.date(2025, 5, 1))

    response = api.get("/api/customers/?acquired_on_after=05.01.2025", HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 400
    assert response.json() == {"acquired_on_after": ["Enter a date as YYYY-MM-DD."]}


def test_response_answered_filter_is_iso_only_too(api):
    ResponseFactory()

    response = api.get("/api/responses/?answered_before=1.2.2025", HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 400
    assert list(response.json()) == ["answered_before"]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("date_before=2025-1-5", {"date_before": ["Enter a date as YYYY-MM-DD."]}),
        ("date_after=2025-02-30", {"date_after": ["2025-02-30 is not a valid calendar date."]}),
        ("date_after=٢٠٢٥-01-01", {"date_after": ["Enter a date as YYYY-MM-DD."]}),
    ],
)
def test_a_bad_date_bound_is_keyed_by_its_own_parameter(api, query, errors):
    """The range is one filter for two parameters: its 400 named `date`, which no client sends."""
    response = api.get(f"/api/costs/?{query}")

    assert response.status_code == 400
    assert response.json() == errors


def test_iso_date_bounds_still_filter_whatever_the_language(api):
    customer = CustomerFactory(external_id="D1")
    pay(customer, "2025-01-05", "10.00")
    pay(customer, "2025-05-01", "20.00")

    response = api.get("/api/revenue/?date_after=2025-05-01&date_before=2025-05-01", HTTP_ACCEPT_LANGUAGE="fr")

    assert [line["amount"] for line in response.json()["results"]] == ["20.00"]


# --- 2. A rejected bulk request lists every error, not only the first kind found ------------------


def _where(response) -> set[tuple[int, str]]:
    return {(e["row"], e["column"]) for e in response.json()["errors"]}


def test_bulk_customers_lists_errors_of_every_row_even_with_a_non_scalar_cell(api):
    """SPEC §2: "any bad row → the whole file is rejected with every error listed by row number and
    column". One cell of the wrong JSON type (true, a list) hid every other row's errors: the
    client fixed it, resubmitted, and only then learned about the rest."""
    records = [
        {"external_id": "H2", "email": "not-an-email"},
        {"external_id": "H3", "acquisition_cost": True},
        {"external_id": "H4", "reason": "telepathy"},
    ]

    response = api.post("/api/customers/bulk/", records, format="json")

    assert response.status_code == 400
    assert _where(response) == {(1, "email"), (2, "acquisition_cost"), (3, "reason")}
    assert not Customer.objects.exists()


def test_bulk_revenue_lists_errors_of_every_row_even_with_an_unknown_field(api):
    CustomerFactory(external_id="A1")
    records = [
        {"customer": "A1", "date": "2025-01-05", "amount": "1.00", "external_ref": "r1", "note": "x"},
        {"customer": "NOPE", "date": "2025-02-30", "amount": "1.00", "external_ref": "r2"},
    ]

    response = api.post("/api/revenue/", records, format="json")

    assert response.status_code == 400
    assert _where(response) == {(1, "note"), (2, "customer"), (2, "date")}
    assert not RevenueEntry.objects.exists()


def test_a_cell_of_the_wrong_shape_keeps_only_its_own_error_beside_its_rows_others(api):
    """The row's other cells are checked too; the bad cell goes on empty, and is not also reported
    as a missing value."""
    CustomerFactory(external_id="A1")
    line = {"customer": ["A1"], "date": "yesterday", "amount": "1.00", "external_ref": "r\x00"}

    response = api.post("/api/revenue/", [line], format="json")

    assert response.status_code == 400
    errors = sorted((e["column"], e["message"]) for e in response.json()["errors"])
    assert errors == [
        ("customer", "expected text or a number, not a list"),
        ("date", "'yesterday' is not a date in the form YYYY-MM-DD"),
        ("external_ref", "contains a NUL character"),
    ]
    assert response.json()["error_count"] == 3


def test_a_shape_problem_alone_still_writes_nothing(api):
    CustomerFactory(external_id="A1")
    lines = [
        {"customer": "A1", "date": "2025-01-05", "amount": "1.00", "external_ref": "r1"},
        {"customer": "A1", "date": "2025-01-06", "amount": "1.00", "external_ref": "r2", "kind": True},
    ]

    response = api.post("/api/costs/", lines, format="json")

    assert response.status_code == 400
    assert _where(response) == {(2, "kind")}
    assert not CostEntry.objects.exists()


# --- 3. A bad cost kind is reported in the column `kind` ----------------------------------------


def test_bulk_cost_with_unknown_kind_names_the_kind_column(api):
    """Errors are listed "by row and column"; a bad `kind` came back in a column called
    `kind/description`, which is no column of the costs header (SPEC §7)."""
    CustomerFactory(external_id="H1")
    line = {"customer": "H1", "date": "2025-01-01", "amount": "1.00", "external_ref": "k1", "kind": "bogus"}

    response = api.post("/api/costs/", [line], format="json")

    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(1, "kind")]


def test_bulk_cost_with_bad_kind_and_description_reports_both(api):
    CustomerFactory(external_id="H1")
    line = {
        "customer": "H1", "date": "2025-01-01", "amount": "1.00", "external_ref": "k1",
        "kind": "bogus", "description": "x" * 201,
    }

    response = api.post("/api/costs/", [line], format="json")

    assert response.status_code == 400
    assert _where(response) == {(1, "kind"), (1, "description")}


# --- 4. The reason endpoint: a client echoing the reason without its text changes nothing --------


def test_reason_endpoint_echo_without_text_keeps_the_customers_own_words(api):
    """README ("Acquisition reason capture"): "An API client sending back the reason a customer has
    without its text changes nothing (text and mapping kept, as in an import)". PATCH did so; the
    reason endpoint erased the text the customer wrote on the emailed link and recorded a new
    answer from the API."""
    answered = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
    customer = CustomerFactory(
        reason=reason("recommendation"), reason_text="my sister told me",
        reason_source="email", reason_answered_at=answered,
    )
    entries = LogEntry.objects.count()

    response = api.post(f"/api/customers/{customer.pk}/reason/", {"reason": "recommendation"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["reason_text"] == "my sister told me"
    customer.refresh_from_db()
    assert (customer.reason_text, customer.reason_source, customer.reason_answered_at) == (
        "my sister told me", "email", answered,
    )
    assert LogEntry.objects.count() == entries


def test_reason_endpoint_echo_of_other_keeps_text_and_mapping(api):
    """It was a 400 too: the echo of "other" came with an empty text."""
    customer = CustomerFactory(
        reason=reason("other"), reason_text="a podcast", reason_mapped_to=reason("reputation"),
        reason_source="email",
    )

    response = api.post(f"/api/customers/{customer.pk}/reason/", {"reason": "other"}, format="json")

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.reason_text, customer.reason_mapped_to) == ("a podcast", reason("reputation"))


def test_reason_endpoint_without_text_for_another_reason_is_a_new_answer_without_text(api):
    customer = CustomerFactory(reason=reason("recommendation"), reason_text="my sister told me", reason_source="email")

    response = api.post(f"/api/customers/{customer.pk}/reason/", {"reason": "reputation"}, format="json")

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.reason, customer.reason_text, customer.reason_source) == (reason("reputation"), "", "api")


def test_reason_endpoint_with_an_empty_text_for_the_same_reason_still_clears_it(api):
    """Only a text left out is an echo; an empty one is the client's answer."""
    customer = CustomerFactory(reason=reason("recommendation"), reason_text="my sister told me", reason_source="email")

    response = api.post(
        f"/api/customers/{customer.pk}/reason/", {"reason": "recommendation", "reason_text": ""}, format="json"
    )

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.reason_text, customer.reason_source) == ("", "api")


# --- 5. PATCH answers with the customer as stored ----------------------------------------------


def test_patch_external_id_answers_with_the_renamed_entity(api):
    """After PATCH of a top-level customer's external_id, the response's `entity` named the old
    external id, which no longer exists: an integration that stores the answer kept a dangling key
    (a GET right after showed the new one)."""
    customer = CustomerFactory(external_id="OLD")
    customer.entity = customer
    customer.save(update_fields=["entity"])

    response = api.patch(f"/api/customers/{customer.pk}/", {"external_id": "NEW"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["entity"] == api.get(f"/api/customers/{customer.pk}/").json()["entity"] == "NEW"


def test_patch_external_id_of_a_member_keeps_its_entity(api):
    top = CustomerFactory(external_id="TOP")
    top.entity = top
    top.save(update_fields=["entity"])
    member = CustomerFactory(external_id="OLD", parent=top, entity=top)

    response = api.patch(f"/api/customers/{member.pk}/", {"external_id": "NEW"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["external_id"], response.json()["entity"]) == ("NEW", "TOP")


# --- 6. An expired token says so ---------------------------------------------------------------


def _client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _expired_token(user) -> str:
    _, token = AuthToken.objects.create(user)
    AuthToken.objects.filter(user=user).update(expiry=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    return token


def test_expired_token_gets_a_401_saying_it_expired(empty_cache):
    """README: a token works for API_TOKEN_TTL_DAYS "after its login ...; then log in again". An
    expired token got knox's bare "Invalid token.", the same as a mistyped one: the integration
    could not tell that it only needs to log in again."""
    token = _expired_token(UserFactory(role="analyst"))

    response = _client_with(token).get("/api/customers/")

    assert response.status_code == 401
    assert response.json() == {"detail": TOKEN_EXPIRED}
    assert not AuthToken.objects.exists()  # knox still deletes it


def test_a_mistyped_token_sharing_an_expired_ones_key_stays_invalid(empty_cache):
    token = _expired_token(UserFactory(role="analyst"))
    mistyped = token[:-1] + ("0" if token[-1] != "0" else "1")

    response = _client_with(mistyped).get("/api/customers/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_expired_message_names_the_real_login_path():
    path = str(TOKEN_EXPIRED).split("POST ")[1].rstrip(").")

    assert resolve(path).func.view_class is LoginView
