"""The database holds the rules every door checks, for the writers that pass no door: bulk paths
(QuerySet.update, bulk_create), raw SQL, a data migration, a DBA's psql. Each rule is broken here
by such a write, which the database refuses; the doors still answer with their own field message.

Run on SQLite and on PostgreSQL (DATABASE_URL): both take the same CHECK constraints.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError
from django.urls import reverse

from accounting.models import OTHER_STAYS_UNKNOWN, CostEntry, Customer, ReasonCategory
from surveys.models import Invitation, InvitationState, Launch, Response, SuppressedAddress, Survey
from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    SurveyFactory,
    UserFactory,
)
from tests.form_data import admin_change_data

pytestmark = pytest.mark.django_db


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


# --- Raw writes refused ---------------------------------------------------------------------------


def category(slug):
    return ReasonCategory.objects.filter(slug=slug)


def customer():
    return Customer.objects.filter(pk=CustomerFactory().pk)


def a_cost(kind):
    row = CostEntry(customer=CustomerFactory(), date=dt.date(2025, 1, 1), amount=Decimal(5), external_ref="c",
                    kind=kind)
    return lambda: CostEntry.objects.bulk_create([row])


ACCOUNTING = {
    "reason_category_kind": lambda: category("returning").update(kind="Earned"),
    "reason_category_other_unknown": lambda: category("other").update(kind="earned"),
    "customer_external_id_not_blank": lambda: customer().update(external_id=""),
    "customer_not_own_referrer": lambda: customer().update(referred_by=F("pk")),
    "customer_acquisition_cost_not_negative": lambda: customer().update(acquisition_cost=Decimal("-0.01")),
}


@pytest.mark.parametrize("constraint", ACCOUNTING)
def test_it_refuses_a_bulk_update_of_accounting_rows_that_breaks_a_rule(constraint):
    refused(ACCOUNTING[constraint])


def test_it_refuses_a_bulk_created_cost_of_an_unknown_kind_and_takes_a_known_one():
    refused(a_cost("Serve"))
    a_cost("acquisition")()
    assert CostEntry.objects.get().kind == "acquisition"


def survey(**fields):
    return Survey.objects.filter(pk=SurveyFactory(**fields).pk)


SURVEYS = {
    "status": {"status": "Active"},
    "audience": {"audience": "everyone"},
    "sample of 0 %": {"audience": "sample", "sample_percent": Decimal(0)},
    "sample over 100 %": {"audience": "sample", "sample_percent": Decimal("100.01")},
    "reminder after 0 days": {"reminder_days": 0},
    "reminder after 61 days": {"reminder_days": 61, "expiry_days": 90},
    "expiry after 0 days": {"expiry_days": 0},
    "expiry after 366 days": {"expiry_days": 366},
    "throttle of 366 days": {"throttle_days": 366},
    "relaunch every 0 days": {"repeat_days": 0},
}


@pytest.mark.parametrize("change", SURVEYS)
def test_it_refuses_a_bulk_update_of_a_survey_out_of_its_settings_bounds(change):
    rows = survey(expiry_days=30)
    refused(lambda: rows.update(**SURVEYS[change]))


def test_a_survey_at_its_settings_bounds_is_stored():
    rows = survey()
    rows.update(audience="sample", sample_percent=Decimal("0.01"), reminder_days=1, expiry_days=2, throttle_days=365,
                repeat_days=1)
    rows.update(sample_percent=Decimal(100), reminder_days=60, expiry_days=365, throttle_days=0)
    assert rows.get().sample_percent == 100


INVITATIONS = {
    "no token hash": {"token_hash": ""},
    "sending without a claim": {"state": InvitationState.SENDING, "claimed_at": None},
    "sent without a sent time": {"state": InvitationState.SENT, "sent_at": None},
    "sent without an expiry": {"state": InvitationState.SENT, "expires_at": None},
}


@pytest.mark.parametrize("change", INVITATIONS)
def test_it_refuses_a_bulk_update_of_an_invitation_that_breaks_its_state_rules(change):
    rows = Invitation.objects.filter(pk=InvitationFactory(state=InvitationState.SENT).pk)
    refused(lambda: rows.update(**INVITATIONS[change]))


def test_a_queued_or_answered_invitation_needs_no_sent_time():
    rows = Invitation.objects.filter(pk=InvitationFactory(state=InvitationState.QUEUED, sent_at=None).pk)
    rows.update(expires_at=None)
    rows.update(state=InvitationState.RESPONDED, responded_at=dt.datetime.now(dt.UTC))  # a link that may have arrived
    assert rows.get().state == InvitationState.RESPONDED


def test_it_refuses_a_suppressed_address_in_capitals_by_raw_sql():
    now = dt.datetime.now(dt.UTC)
    sql = "INSERT INTO surveys_suppressedaddress (email, kind, detail, created_at) VALUES (%s, 'bounced', '', %s)"

    def insert(email):
        with connection.cursor() as cursor:
            cursor.execute(sql, [email, now])

    refused(lambda: insert("Jo@Example.com"))
    insert("jo@example.com")
    assert SuppressedAddress.objects.of_address("jo@example.com").exists()


# --- Records kept: nothing deleted with them ------------------------------------------------------


def test_a_customer_with_survey_records_is_not_deleted_with_them():
    answer = ResponseFactory()
    invited = InvitationFactory().customer

    for person in (answer.customer, invited):
        with pytest.raises(ProtectedError), transaction.atomic():
            Customer.objects.filter(pk=person.pk).delete()

    assert Response.objects.filter(pk=answer.pk).exists()
    assert Invitation.objects.filter(customer=invited).exists()


def test_a_launched_survey_is_not_deleted_with_its_records():
    answer = ResponseFactory()
    launched = SurveyFactory()
    Launch.objects.create(survey=launched)

    for survey in (answer.survey, launched):
        with pytest.raises(ProtectedError), transaction.atomic():
            Survey.objects.filter(pk=survey.pk).delete()

    assert Response.objects.filter(pk=answer.pk).exists()
    assert Launch.objects.filter(survey=launched).exists()


def test_an_answered_invitation_is_not_deleted_with_its_answer():
    answer = ResponseFactory()

    with pytest.raises(ProtectedError), transaction.atomic():
        Invitation.objects.filter(pk=answer.invitation_id).delete()

    assert Response.objects.filter(pk=answer.pk).exists()


def test_a_customer_and_a_survey_without_records_are_deleted():
    person, survey = CustomerFactory(), SurveyFactory()

    Customer.objects.filter(pk=person.pk).delete()
    Survey.objects.filter(pk=survey.pk).delete()

    assert not Customer.objects.filter(pk=person.pk).exists() and not Survey.objects.filter(pk=survey.pk).exists()


# --- The doors still name the field ---------------------------------------------------------------


@pytest.fixture
def staff_admin(client):
    client.force_login(UserFactory(username="alice", role="admin", is_staff=True))
    return client


def form_errors(page) -> dict:
    assert page.status_code == 200, page.status_code
    return page.context["adminform"].form.errors


def test_the_admin_names_the_kind_of_other_and_no_constraint(staff_admin):
    other = ReasonCategory.objects.get(slug="other")
    url = reverse("admin:accounting_reasoncategory_change", args=[other.pk])

    page = staff_admin.post(url, {"label": other.label, "kind": "earned", "order": other.order, "is_active": "on"})

    assert form_errors(page) == {"kind": [OTHER_STAYS_UNKNOWN]}
    assert "is violated" not in page.content.decode()


@pytest.mark.parametrize(("field", "value"), [("referred_by", "self"), ("acquisition_cost", "-5")])
def test_the_customer_admin_names_the_field_and_no_constraint(staff_admin, field, value):
    person = CustomerFactory(external_id="C-1", name="Ann")
    url = reverse("admin:accounting_customer_change", args=[person.pk])
    data = {"external_id": "C-1", "name": "Ann", "language": "en", field: person.pk if value == "self" else value}

    page = staff_admin.post(url, data)

    assert list(form_errors(page)) == [field]
    assert "is violated" not in page.content.decode()


@pytest.mark.parametrize(("field", "value"), [("expiry_days", 0), ("reminder_days", 61), ("repeat_days", 0)])
def test_the_staff_survey_form_names_the_field_and_no_constraint(staff_admin, field, value):
    page = staff_admin.post(reverse("surveys:survey-create"), {
        "name": "Pulse", "kind": "relationship", "status": "draft", "question": "Q?", "expiry_days": 90,
        "throttle_days": 90, "audience": "all", field: value,
    })

    assert page.status_code == 400  # the form drawn again with its errors
    assert list(page.context["form"].errors) == [field]
    assert "is violated" not in page.content.decode()


@pytest.mark.parametrize(("field", "value"), [("expiry_days", 0), ("throttle_days", 366), ("repeat_days", 0)])
def test_the_survey_admin_names_the_field_and_no_constraint(staff_admin, field, value):
    url = reverse("admin:surveys_survey_change", args=[SurveyFactory().pk])

    page = staff_admin.post(url, admin_change_data(staff_admin, url, **{field: value}))

    assert list(form_errors(page)) == [field]
    assert "is violated" not in page.content.decode()


@pytest.mark.parametrize(("field", "value"), [("expiry_days", 0), ("throttle_days", 366), ("sample_percent", "0")])
def test_the_api_answers_400_by_field(api_client_as, field, value):
    body = {"name": "Pulse", "audience": "sample", "sample_percent": "10", field: value}

    response = api_client_as("admin").post(reverse("api-survey-list"), body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_the_api_answers_400_to_a_customer_referring_itself(api_client_as):
    person = CustomerFactory(external_id="C-1")

    response = api_client_as("admin").patch(reverse("api-customer-detail", args=[person.pk]), {"referred_by": "C-1"},
                                            format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == ["referred_by"]


def test_the_admin_stores_an_address_typed_in_capitals_lower_cased(staff_admin):
    page = staff_admin.post(reverse("admin:surveys_suppressedaddress_add"), {
        "email": "Jo@Example.COM", "kind": "complained", "detail": "", "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
    })

    assert page.status_code == 302, form_errors(page)
    assert list(SuppressedAddress.objects.values_list("email", flat=True)) == ["jo@example.com"]
