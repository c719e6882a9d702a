"""Whatever may invite one customer twice waits for whatever is inviting them now (PostgreSQL).

Each test holds a first launch or trigger open (not committed), starts a second in another thread
and checks whether the second waits; then lets the first commit and looks at both rows.
"""

import pytest
from django.db import connection

from surveys.launch import invitation_get_or_create_transactional, survey_launch
from surveys.models import Invitation, InvitationState, Survey, SurveyKind
from tests.concurrency import second_waited_for_first
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks need PostgreSQL"),
]


@pytest.fixture(autouse=True)
def rows_stay_queued(monkeypatch):
    monkeypatch.setattr("surveys.launch._enqueue_sending", lambda countdown=0, tell=None: None)


def launch(survey_pk):
    return lambda: survey_launch(survey=Survey.objects.get(pk=survey_pk))


def trigger(survey_pk, customer, reference):
    def run():
        invitation, _ = invitation_get_or_create_transactional(
            survey=Survey.objects.get(pk=survey_pk), customer=customer, touchpoint="order", reference=reference
        )
        return invitation

    return run


def pending_rows_per_customer():
    pending = Invitation.objects.filter(state=InvitationState.QUEUED)
    return sorted(pending.values_list("customer__external_id", flat=True))


def test_two_launches_of_one_survey_email_a_customer_once():
    CustomerFactory.create_batch(2)
    survey = SurveyFactory(throttle_days=0)

    assert second_waited_for_first(launch(survey.pk), launch(survey.pk))

    first, second = survey.launches.order_by("id")
    assert first.invitations.filter(state=InvitationState.QUEUED).count() == 2
    assert {(i.state, i.suppression_reason) for i in second.invitations.all()} == {("suppressed", "throttled")}


def test_launches_of_two_surveys_email_a_customer_once():
    customers = CustomerFactory.create_batch(2)
    one, two = SurveyFactory(throttle_days=0), SurveyFactory(throttle_days=0)

    assert second_waited_for_first(launch(one.pk), launch(two.pk))

    assert pending_rows_per_customer() == sorted(c.external_id for c in customers)
    second = Invitation.objects.filter(survey=two)
    assert {(i.state, i.suppression_reason) for i in second} == {("suppressed", "throttled")}


def test_a_trigger_waits_for_a_launch_and_is_throttled():
    customer = CustomerFactory()
    relationship = SurveyFactory(throttle_days=0)
    transactional = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)

    assert second_waited_for_first(launch(relationship.pk), trigger(transactional.pk, customer, "ORDER-1"))

    assert pending_rows_per_customer() == [customer.external_id]
    row = Invitation.objects.get(survey=transactional)
    assert (row.state, row.suppression_reason) == ("suppressed", "throttled")


def test_two_events_of_one_customer_at_once_email_them_once():
    customer = CustomerFactory()
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)

    assert second_waited_for_first(trigger(survey.pk, customer, "ORDER-1"), trigger(survey.pk, customer, "ORDER-2"))

    rows = {i.reference: (i.state, i.suppression_reason) for i in Invitation.objects.all()}
    assert rows == {"ORDER-1": ("queued", ""), "ORDER-2": ("suppressed", "throttled")}


def test_a_launch_waits_for_a_trigger_in_flight():
    customer = CustomerFactory()
    relationship = SurveyFactory(throttle_days=0)
    transactional = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)

    assert second_waited_for_first(trigger(transactional.pk, customer, "ORDER-1"), launch(relationship.pk))

    row = Invitation.objects.get(survey=relationship)
    assert (row.state, row.suppression_reason) == ("suppressed", "throttled")


def test_triggers_for_different_customers_do_not_wait_for_each_other():
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0)
    first, second = CustomerFactory.create_batch(2)

    assert not second_waited_for_first(trigger(survey.pk, first, "ORDER-1"), trigger(survey.pk, second, "ORDER-2"))

    assert pending_rows_per_customer() == sorted([first.external_id, second.external_id])
