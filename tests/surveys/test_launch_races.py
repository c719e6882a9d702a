"""Races of a launch, a trigger or a reopen with a customer's delete or another launch (PostgreSQL).

Django checks foreign keys at commit, so a customer deleted while their invitation was written
failed the trigger (a 500) or the whole launch at commit: the customer rows a launch or a trigger
reads are locked FOR KEY SHARE. A reopened survey's queued rows are checked under the launches'
advisory lock, so a reopen crossing another survey's launch does not queue one customer twice.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import IntegrityError, connection
from django.test import Client
from django.urls import reverse

from accounting.models import Customer
from cxplatform.roles import sync_roles
from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, Launch, Survey, SurveyKind, SurveyStatus
from tests.concurrency import token_api_clients, while_first_is_held
from tests.factories import CustomerFactory, SurveyFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections"),
]

@pytest.fixture(autouse=True)
def rows_stay_queued(monkeypatch):
    monkeypatch.setattr("surveys.launch._enqueue_sending", lambda countdown=0, tell=None: None)


@pytest.fixture
def admin_client():
    sync_roles()
    client = Client(raise_request_exception=True)
    client.force_login(UserFactory(username="alice", role="admin"))
    return client


def trigger(make, survey, external_id):
    body = {"survey": survey.pk, "customer": external_id, "touchpoint": "order", "reference": "O-1"}
    return lambda: make().post(reverse("api-invitation-list"), body, format="json")


def api_launch(make, survey):
    def run():
        response = make().post(reverse("api-survey-launch", args=[survey.pk]), {}, format="json")
        assert response.status_code == 201, response.content

    return run


def delete(customer):
    return lambda: Customer.objects.filter(pk=customer.pk).delete()


def admin_delete(admin_client, customer):
    url = reverse("admin:accounting_customer_delete", args=[customer.pk])
    return lambda: admin_client.post(url, {"post": "yes"})


# --- A customer deleted while a trigger runs ---------------------------------------------------


def test_a_trigger_for_a_customer_being_deleted_waits_and_answers_400_not_a_500():
    customer = CustomerFactory(external_id="C-DEL")
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)

    outcome = while_first_is_held(delete(customer), trigger(token_api_clients("admin"), survey, "C-DEL"))

    assert outcome.waited  # for the delete's commit, on the customer's row
    assert outcome.error is None, repr(outcome.error)
    assert outcome.result.status_code == 400, outcome.result.content
    assert "C-DEL" in outcome.result.json()["customer"][0]
    assert not Invitation.objects.exists()


def test_a_delete_while_a_trigger_is_under_way_waits_and_is_refused_the_trigger_committed():
    customer = CustomerFactory(external_id="C-DEL")
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)
    make = token_api_clients("admin")

    def first():
        response = trigger(make, survey, "C-DEL")()
        assert response.status_code == 201, response.content

    outcome = while_first_is_held(first, delete(customer))

    assert outcome.waited
    assert isinstance(outcome.error, IntegrityError)  # the database refuses: the invitation names them
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert Invitation.objects.filter(customer_id=customer.pk).count() == 1


def test_an_admin_delete_while_a_trigger_is_under_way_is_refused_not_a_500(admin_client):
    customer = CustomerFactory(external_id="C-DEL")
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)
    make = token_api_clients("admin")

    def first():
        response = trigger(make, survey, "C-DEL")()
        assert response.status_code == 201, response.content

    outcome = while_first_is_held(first, admin_delete(admin_client, customer))

    assert outcome.error is None, repr(outcome.error)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not LogEntry.objects.exists()


# --- A customer deleted while a launch runs ----------------------------------------------------


def test_a_launch_skips_a_customer_being_deleted_and_reaches_the_rest():
    CustomerFactory(external_id="C-STAY")
    leaving = CustomerFactory(external_id="C-DEL")
    survey = SurveyFactory(throttle_days=0)

    outcome = while_first_is_held(delete(leaving), lambda: survey_launch(survey=Survey.objects.get(pk=survey.pk)))

    assert outcome.waited
    assert outcome.error is None, repr(outcome.error)
    assert outcome.result.audience_size == 1
    assert list(Invitation.objects.values_list("customer__external_id", flat=True)) == ["C-STAY"]


def test_a_delete_while_a_launch_is_under_way_waits_and_is_refused_the_launch_committed():
    CustomerFactory(external_id="C-STAY")
    leaving = CustomerFactory(external_id="C-DEL")
    survey = SurveyFactory(throttle_days=0)

    outcome = while_first_is_held(api_launch(token_api_clients("admin"), survey), delete(leaving))

    assert outcome.waited
    assert isinstance(outcome.error, IntegrityError)
    assert Launch.objects.get(survey=survey).audience_size == 2
    assert sorted(Invitation.objects.values_list("customer__external_id", flat=True)) == ["C-DEL", "C-STAY"]


def test_a_launch_does_not_hold_back_an_edit_of_its_customers():
    customer = CustomerFactory(email="old@example.com")
    survey = SurveyFactory(throttle_days=0)

    outcome = while_first_is_held(
        lambda: survey_launch(survey=Survey.objects.get(pk=survey.pk)),
        lambda: Customer.objects.filter(pk=customer.pk).update(email="new@example.com"),
    )

    assert not outcome.waited  # KEY SHARE: only a delete or a change of the id waits
    assert outcome.error is None, repr(outcome.error)


def test_an_admin_delete_while_a_launch_is_under_way_is_refused_not_a_500(admin_client):
    CustomerFactory(external_id="C-STAY")
    leaving = CustomerFactory(external_id="C-DEL")
    survey = SurveyFactory(throttle_days=0)

    outcome = while_first_is_held(api_launch(token_api_clients("admin"), survey), admin_delete(admin_client, leaving))

    assert outcome.error is None, repr(outcome.error)
    assert Customer.objects.filter(pk=leaving.pk).exists()


# --- A closed survey reopened while another survey is launched ---------------------------------


@pytest.fixture
def closed_with_a_queued_row():
    customer = CustomerFactory()
    closed = SurveyFactory(throttle_days=0)
    survey_launch(survey=Survey.objects.get(pk=closed.pk))  # queued, never sent
    Survey.objects.filter(pk=closed.pk).update(status=SurveyStatus.CLOSED)
    return customer, closed


def reopen(survey):
    def run():
        stored = Survey.objects.get(pk=survey.pk)
        stored.status = SurveyStatus.ACTIVE
        stored.save()

    return run


def launch(survey):
    return lambda: survey_launch(survey=Survey.objects.get(pk=survey.pk))


def queued_for(customer):
    return Invitation.objects.filter(customer=customer, state=InvitationState.QUEUED).count()


def steps(closed, other, reopen_first):
    return (reopen(closed), launch(other)) if reopen_first else (launch(other), reopen(closed))


@pytest.mark.parametrize("reopen_first", [True, False], ids=["reopen-then-launch", "launch-then-reopen"])
def test_a_customer_is_queued_once_when_a_reopen_and_a_launch_cross(closed_with_a_queued_row, reopen_first):
    customer, closed = closed_with_a_queued_row
    other = SurveyFactory(throttle_days=0)

    outcome = while_first_is_held(*steps(closed, other, reopen_first))

    assert outcome.waited
    assert outcome.error is None, repr(outcome.error)
    rows = list(Invitation.objects.values_list("survey__name", "state", "suppression_reason"))
    assert queued_for(customer) == 1, rows


@pytest.mark.parametrize("reopen_first", [True, False], ids=["reopen-then-launch", "launch-then-reopen"])
def test_one_after_the_other_a_reopen_and_a_launch_queue_the_customer_once(closed_with_a_queued_row, reopen_first):
    customer, closed = closed_with_a_queued_row
    other = SurveyFactory(throttle_days=0)
    for step in steps(closed, other, reopen_first):
        step()
    assert queued_for(customer) == 1


def test_a_reopen_outside_a_request_transaction_holds_the_lock_until_its_update(closed_with_a_queued_row, monkeypatch):
    """Survey.save in autocommit: a transaction-scoped lock taken outside a transaction would be
    released before the UPDATE it is meant to cover."""
    _, closed = closed_with_a_queued_row
    taken_in = []
    monkeypatch.setattr("surveys.launch._lock_customers", lambda: taken_in.append(connection.in_atomic_block))

    reopen(closed)()

    assert taken_in == [True]
