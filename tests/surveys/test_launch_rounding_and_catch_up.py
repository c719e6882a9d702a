"""Mutation audit (surveys.rules, surveys.launch): behaviours of a launch that no test pinned.

Each test here failed on a small mutation of the product code that the rest of the suite let pass."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.launch import survey_launch, surveys_launch_due
from surveys.models import AudienceKind, InvitationState, SuppressedAddress, SuppressionReason, Survey
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory
from tests.form_data import survey_form_data

pytestmark = pytest.mark.django_db


def test_the_api_stores_a_sample_drawn_from_one_segment(api_client_as):
    """A sample audience may name a segment (a 10 % sample of SMB): the rules refuse a segment only
    on the audiences that would ignore it, not on a sample."""
    CustomerFactory(segment="SMB")

    response = api_client_as("admin").post(
        "/api/surveys/",
        {"name": "SMB pulse", "audience": "sample", "audience_segment": "SMB", "sample_percent": "10"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    survey = Survey.objects.get(name="SMB pulse")
    assert (survey.audience, survey.audience_segment, survey.sample_percent) == ("sample", "SMB", Decimal("10"))


def test_the_staff_form_stores_a_sample_drawn_from_one_segment(client_as):
    """The staff form, like the API, takes a segment on a sample audience."""
    CustomerFactory(segment="SMB")

    response = client_as("admin").post(
        reverse("surveys:survey-create"),
        survey_form_data(name="SMB pulse", audience="sample", audience_segment="SMB", sample_percent="10"),
    )

    assert response.status_code == 302, response.context["form"].errors
    assert Survey.objects.get(name="SMB pulse").audience_segment == "SMB"


def test_a_sample_rounds_half_up_so_a_small_audience_still_gets_one_invitation():
    """10 % of five customers is half a customer: the draw rounds half up to one, never down to an
    empty launch."""
    CustomerFactory.create_batch(5)

    launch = survey_launch(survey=SurveyFactory(throttle_days=0), sample_percent=Decimal("10"))

    assert launch.audience_size == 1
    assert launch.invitations.count() == 1


def test_a_sample_of_one_hundred_percent_is_the_whole_audience():
    """The sample's bound is inclusive: 100 % is allowed and invites everyone."""
    CustomerFactory.create_batch(3)

    launch = survey_launch(survey=SurveyFactory(throttle_days=0), sample_percent=100)

    assert (launch.audience, launch.audience_size) == (AudienceKind.SAMPLE, 3)
    assert launch.invitations.filter(state=InvitationState.QUEUED).count() == 3


def test_a_launched_invitation_takes_the_surveys_language_over_the_customers():
    """SPEC §4: a survey with a language is sent in it; the customer's language is only the fallback."""
    german = SurveyFactory(language="de", throttle_days=0)
    unset = SurveyFactory(language="", throttle_days=0)
    CustomerFactory(language="fr")

    assert survey_launch(survey=german).invitations.get().language == "de"
    assert survey_launch(survey=unset).invitations.get().language == "fr"


def test_a_schedule_missed_for_several_periods_launches_once_and_moves_past_now():
    """A weekly survey whose beat was down for three weeks launches once, and its next launch is in
    the future: the next beat run does not launch it again."""
    CustomerFactory()
    survey = SurveyFactory(repeat_days=7, throttle_days=0, next_launch_at=timezone.now() - dt.timedelta(days=20))

    assert len(surveys_launch_due()) == 1
    survey.refresh_from_db()
    assert survey.next_launch_at > timezone.now()
    assert surveys_launch_due() == []
    assert survey.launches.count() == 1


def test_a_bounced_address_is_suppressed_as_bounced_before_even_when_also_throttled():
    """Reasons are checked in order (opted out, no email, bounced before, throttled): an address that
    bounced is reported as such, not hidden behind the throttle."""
    customer = CustomerFactory(email="gone@example.com")
    SuppressedAddress.objects.create(email="gone@example.com", kind="bounced")
    InvitationFactory(customer=customer, sent_at=timezone.now() - dt.timedelta(days=10))  # another survey

    launch = survey_launch(survey=SurveyFactory(throttle_days=90))

    row = launch.invitations.get()
    assert (row.state, row.suppression_reason) == (InvitationState.SUPPRESSED, SuppressionReason.BOUNCED_BEFORE)
