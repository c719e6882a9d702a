"""/api/invitations/: listing, and POST as the transactional trigger."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import Invitation, InvitationState, SuppressionReason
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def transactional():
    return SurveyFactory(name="After delivery", kind="transactional")


def _trigger(api, **body):
    return api.post(reverse("api-invitation-list"), body, format="json")


def test_a_trigger_queues_one_invitation(api_client_as, transactional, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="C-1")
    before = timezone.now()

    with django_capture_on_commit_callbacks():
        response = _trigger(api_client_as("analyst"), survey=transactional.pk, customer="C-1",
                            touchpoint="delivery", reference="ORDER-9", delay_minutes=60)

    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get(pk=response.json()["id"])
    assert (invitation.touchpoint, invitation.reference, invitation.customer.external_id) == (
        "delivery", "ORDER-9", "C-1")
    assert invitation.state == InvitationState.QUEUED
    assert invitation.send_after >= before + dt.timedelta(minutes=60)


def test_a_repeated_trigger_returns_the_events_invitation_and_invites_nobody_again(
    api_client_as, transactional, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="C-1")
    api = api_client_as("analyst")
    body = {"survey": transactional.pk, "customer": "C-1", "touchpoint": "delivery", "reference": "ORDER-9"}

    with django_capture_on_commit_callbacks() as callbacks:
        first = _trigger(api, **body)
        again = _trigger(api, **body)  # a client retrying after a timeout

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.json()["state"] == InvitationState.QUEUED
    assert Invitation.objects.filter(survey=transactional).count() == 1
    assert len(callbacks) == 1  # sending enqueued once


def test_triggers_without_a_reference_are_each_new(api_client_as, transactional):
    CustomerFactory(external_id="C-1")
    api = api_client_as("analyst")
    codes = [_trigger(api, survey=transactional.pk, customer="C-1", touchpoint="web").status_code for _ in range(2)]
    assert codes == [201, 201]
    assert Invitation.objects.filter(survey=transactional).count() == 2


def test_a_customer_who_opted_out_gets_a_suppressed_invitation(api_client_as, transactional):
    CustomerFactory(external_id="C-2", survey_opt_out=True)

    response = _trigger(api_client_as("analyst"), survey=transactional.pk, customer="C-2", touchpoint="support")

    assert response.status_code == 201
    assert response.json()["state"] == "suppressed"
    assert response.json()["suppression_reason"] == SuppressionReason.OPTED_OUT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": "NOPE", "touchpoint": "web"}, "customer"),
        ({"customer": "C-3"}, "touchpoint"),
        ({"customer": "C-3", "touchpoint": "web", "delay_minutes": -1}, "delay_minutes"),
        ({"touchpoint": "web"}, "customer"),
    ],
)
def test_a_bad_trigger_is_a_400_with_field_errors(api_client_as, transactional, body, field):
    CustomerFactory(external_id="C-3")
    response = _trigger(api_client_as("analyst"), survey=transactional.pk, **body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Invitation.objects.exists()


def test_a_relationship_survey_cannot_be_triggered(api_client_as):
    CustomerFactory(external_id="C-4")
    survey = SurveyFactory(kind="relationship")
    response = _trigger(api_client_as("analyst"), survey=survey.pk, customer="C-4", touchpoint="web")
    assert response.status_code == 400 and "survey" in response.json()


def test_a_closed_survey_cannot_be_triggered(api_client_as):
    CustomerFactory(external_id="C-5")
    survey = SurveyFactory(kind="transactional", status="closed")
    response = _trigger(api_client_as("analyst"), survey=survey.pk, customer="C-5", touchpoint="web")
    assert response.status_code == 400


def test_the_list_filters_by_survey_and_customer(api_client_as, transactional, django_assert_max_num_queries):
    wanted = InvitationFactory(survey=transactional, customer__external_id="C-6")
    InvitationFactory.create_batch(5, survey=transactional)
    InvitationFactory()
    api = api_client_as("analyst")

    with django_assert_max_num_queries(7):  # token, user, permissions, the survey filter, count, page
        everything = api.get(reverse("api-invitation-list"), {"survey": transactional.pk}).json()
    one = api.get(reverse("api-invitation-list"), {"customer": "C-6"}).json()

    assert everything["count"] == 6
    assert [item["id"] for item in one["results"]] == [wanted.pk]
    assert one["results"][0]["customer"] == "C-6"


def test_no_token_material_is_exposed(api_client_as):
    invitation = InvitationFactory()
    body = api_client_as("admin").get(reverse("api-invitation-detail", args=[invitation.pk])).json()
    assert not {"token", "token_salt", "token_hash"} & set(body)


def test_the_list_searches_the_reference_the_touchpoint_and_the_customer(api_client_as, transactional):
    by_reference = InvitationFactory(survey=transactional, reference="ORDER-17", touchpoint="shop")
    by_touchpoint = InvitationFactory(survey=transactional, touchpoint="delivery")
    by_customer = InvitationFactory(survey=transactional, customer__external_id="ACME-4", touchpoint="shop")
    api = api_client_as("analyst")

    def found(term):
        body = api.get(reverse("api-invitation-list"), {"search": term}).json()
        return {item["id"] for item in body["results"]}

    assert found("order-17") == {by_reference.pk}
    assert found("deliv") == {by_touchpoint.pk}
    assert found("acme") == {by_customer.pk}
    assert found("no-such-thing") == set()


def test_searching_an_anonymous_surveys_invitations_never_tells_who_answered(api_client_as):
    survey = SurveyFactory(anonymous=True)
    answered = InvitationFactory(survey=survey, customer__external_id="ANN-1", state=InvitationState.RESPONDED)
    api = api_client_as("admin")

    found = api.get(reverse("api-invitation-list"), {"search": "ANN-1"}).json()["results"]
    responded = api.get(reverse("api-invitation-list"), {"search": "ANN-1", "state": "responded"}).json()

    assert [(item["id"], item["state"], item["responded_at"]) for item in found] == [
        (answered.pk, "delivered", None)]
    assert responded["count"] == 0
