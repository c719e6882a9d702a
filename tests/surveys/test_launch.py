"""survey_launch, invitation_get_or_create_transactional and surveys_launch_due."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from surveys.launch import (
    invitation_get_or_create_transactional,
    launch_counts,
    survey_launch,
    surveys_launch_due,
)
from surveys.models import (
    AudienceKind,
    Invitation,
    InvitationState,
    SuppressedAddress,
    SurveyKind,
    SurveyStatus,
    hash_token,
)
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def states(launch):
    return {i.customer.external_id: (i.state, i.suppression_reason) for i in launch.invitations.all()}


def test_it_gives_every_customer_a_row_queued_or_suppressed_with_its_reason():
    ok = CustomerFactory(external_id="OK")
    CustomerFactory(external_id="OPT", survey_opt_out=True)
    CustomerFactory(external_id="NOMAIL", email="")
    CustomerFactory(external_id="BOUNCE", email="Bounce@Example.com")
    SuppressedAddress.objects.create(email="bounce@example.com", kind="bounced")
    throttled = CustomerFactory(external_id="THR")
    InvitationFactory(customer=throttled, sent_at=timezone.now() - dt.timedelta(days=10))  # another survey

    launch = survey_launch(survey=SurveyFactory(throttle_days=90))

    assert states(launch) == {
        "OK": ("queued", ""),
        "OPT": ("suppressed", "opted_out"),
        "NOMAIL": ("suppressed", "no_email"),
        "BOUNCE": ("suppressed", "bounced_before"),
        "THR": ("suppressed", "throttled"),
    }
    assert launch.audience_size == 5
    invitation = launch.invitations.get(customer=ok)
    assert invitation.token_hash == hash_token(invitation.token) and invitation.expires_at is None
    counts = launch_counts(launch)
    assert counts["queued"] == 1 and counts["suppressed"]["throttled"] == 1


def test_it_does_not_throttle_an_invitation_sent_before_the_window():
    customer = CustomerFactory()
    InvitationFactory(customer=customer, sent_at=timezone.now() - dt.timedelta(days=31))
    launch = survey_launch(survey=SurveyFactory(throttle_days=30))
    assert launch.invitations.get().state == InvitationState.QUEUED


def test_it_throttles_a_customer_with_an_invitation_still_queued_for_another_survey():
    customer = CustomerFactory()
    survey_launch(survey=SurveyFactory())
    second = survey_launch(survey=SurveyFactory())
    assert second.invitations.get(customer=customer).suppression_reason == "throttled"


def test_throttle_zero_means_no_throttle():
    customer = CustomerFactory()
    InvitationFactory(customer=customer)
    launch = survey_launch(survey=SurveyFactory(throttle_days=0))
    assert launch.invitations.get().state == InvitationState.QUEUED


def test_throttle_zero_still_suppresses_a_customer_whose_invitation_is_being_sent():
    customer = CustomerFactory()
    InvitationFactory(customer=customer, state=InvitationState.SENDING, sent_at=None)
    launch = survey_launch(survey=SurveyFactory(throttle_days=0))
    assert states(launch) == {customer.external_id: ("suppressed", "throttled")}


def test_a_repeated_launch_with_throttle_zero_emails_nobody_twice():
    CustomerFactory.create_batch(3)
    survey = SurveyFactory(throttle_days=0)

    first = survey_launch(survey=survey)
    second = survey_launch(survey=survey)  # a retried or double-submitted launch

    assert {(i.state, i.suppression_reason) for i in first.invitations.all()} == {("queued", "")}
    assert {(i.state, i.suppression_reason) for i in second.invitations.all()} == {("suppressed", "throttled")}
    pending = Invitation.objects.filter(state__in=[InvitationState.QUEUED, InvitationState.SENDING])
    assert not pending.values("customer").annotate(rows=Count("id")).filter(rows__gt=1).exists()


def test_it_uses_set_based_queries_whatever_the_audience_size(django_assert_max_num_queries):
    CustomerFactory.create_batch(30)
    survey = SurveyFactory()
    # + 1: the audit log entry of the survey becoming active; + 1: the survey row locked first;
    # + 1: the advisory lock on every customer (PostgreSQL); + 1: whether its save reopens it
    with django_assert_max_num_queries(12):
        survey_launch(survey=survey)
    assert Invitation.objects.count() == 30


def test_a_segment_limits_the_audience():
    CustomerFactory(segment="SMB")
    CustomerFactory(segment="Enterprise")
    launch = survey_launch(survey=SurveyFactory(), segment="Enterprise")
    assert launch.audience == AudienceKind.SEGMENT and launch.audience_segment == "Enterprise"
    assert [i.customer.segment for i in launch.invitations.all()] == ["Enterprise"]


def test_the_survey_audience_is_used_when_no_argument_is_given():
    CustomerFactory(segment="SMB")
    CustomerFactory(segment="Enterprise")
    survey = SurveyFactory(audience=AudienceKind.SEGMENT, audience_segment="SMB")
    assert survey_launch(survey=survey).audience_size == 1


def test_an_explicit_sample_draws_from_the_stored_segment():
    CustomerFactory.create_batch(10, segment="SMB")
    CustomerFactory.create_batch(10, segment="Enterprise")
    survey = SurveyFactory(audience=AudienceKind.SEGMENT, audience_segment="SMB")

    launch = survey_launch(survey=survey, sample_percent=Decimal("50"))

    assert launch.audience == AudienceKind.SAMPLE and launch.audience_segment == "SMB"
    assert {i.customer.segment for i in launch.invitations.all()} == {"SMB"} and launch.audience_size == 5


def test_an_explicit_segment_keeps_the_stored_sample_percentage():
    CustomerFactory.create_batch(10, segment="SMB")
    CustomerFactory.create_batch(10, segment="Enterprise")
    survey = SurveyFactory(audience=AudienceKind.SAMPLE, sample_percent=Decimal("20"))

    launch = survey_launch(survey=survey, segment="Enterprise")

    assert (launch.audience_segment, launch.sample_percent, launch.audience_size) == ("Enterprise", Decimal("20"), 2)


def test_a_sample_draws_the_percentage_and_records_a_seed_that_replays_it():
    from surveys.launch import _draw_sample

    ids = [c.pk for c in CustomerFactory.create_batch(40)]
    launch = survey_launch(survey=SurveyFactory(), sample_percent=Decimal("25"))
    invited = sorted(launch.invitations.values_list("customer_id", flat=True))
    assert launch.audience == AudienceKind.SAMPLE and launch.sample_percent == Decimal("25")
    assert len(invited) == 10 == launch.audience_size and launch.sample_seed
    assert _draw_sample(ids, Decimal("25"), launch.sample_seed) == invited


def test_launching_activates_the_survey_and_sets_no_expiry_yet():
    CustomerFactory()
    survey = SurveyFactory(repeat_days=90)
    survey_launch(survey=survey)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.ACTIVE and survey.next_launch_at is not None


def test_it_enqueues_sending_only_after_commit(django_capture_on_commit_callbacks, mailoutbox):
    CustomerFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        survey_launch(survey=SurveyFactory())
    assert len(callbacks) == 1 and mailoutbox == []


@pytest.mark.parametrize("kwargs", [{"kind": SurveyKind.TRANSACTIONAL}, {"imported": True},
                                    {"status": SurveyStatus.CLOSED}])
def test_it_refuses_surveys_that_are_not_launched(kwargs):
    with pytest.raises(ValidationError):
        survey_launch(survey=SurveyFactory(**kwargs))


def test_it_refuses_a_bad_sample():
    with pytest.raises(ValidationError):
        survey_launch(survey=SurveyFactory(), sample_percent=0)


def test_a_transactional_invitation_is_queued_with_its_delay_and_touchpoint():
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    before = timezone.now()
    invitation, _ = invitation_get_or_create_transactional(
        survey=survey, customer=CustomerFactory(), touchpoint="support", reference="T-1", delay=dt.timedelta(hours=2)
    )
    assert invitation.state == InvitationState.QUEUED and invitation.launch is None
    assert invitation.touchpoint == "support" and invitation.reference == "T-1"
    assert invitation.send_after >= before + dt.timedelta(hours=2)


def test_a_transactional_invitation_follows_the_same_suppression_rules():
    survey = SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    customer = CustomerFactory()
    InvitationFactory(customer=customer)
    invitation, _ = invitation_get_or_create_transactional(survey=survey, customer=customer, touchpoint="order")
    assert (invitation.state, invitation.suppression_reason) == ("suppressed", "throttled")


def test_a_transactional_trigger_with_a_reference_is_one_event():
    survey, customer = SurveyFactory(kind=SurveyKind.TRANSACTIONAL), CustomerFactory()
    first, created = invitation_get_or_create_transactional(
        survey=survey, customer=customer, touchpoint="order", reference="ORDER-1"
    )
    again, created_again = invitation_get_or_create_transactional(
        survey=survey, customer=customer, touchpoint="order", reference="ORDER-1", delay=dt.timedelta(hours=1)
    )
    assert created and not created_again and again.pk == first.pk
    assert again.state == InvitationState.QUEUED  # not a second row suppressed as throttled
    other, _ = invitation_get_or_create_transactional(
        survey=survey, customer=customer, touchpoint="order", reference="ORDER-2"
    )
    assert other.pk != first.pk


def test_triggers_without_a_reference_are_each_a_new_event():
    survey, customer = SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0), CustomerFactory()
    for _ in range(2):
        invitation_get_or_create_transactional(survey=survey, customer=customer, touchpoint="order")
    assert Invitation.objects.filter(survey=survey).count() == 2


def test_the_database_refuses_a_second_row_for_one_event():
    survey, customer = SurveyFactory(kind=SurveyKind.TRANSACTIONAL), CustomerFactory()
    InvitationFactory(survey=survey, customer=customer, reference="ORDER-1")
    InvitationFactory(survey=survey, customer=customer, reference="")
    InvitationFactory(survey=survey, customer=customer, reference="")  # no reference: no constraint
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationFactory(survey=survey, customer=customer, reference="ORDER-1")


def test_a_trigger_that_loses_the_race_returns_the_winners_invitation(monkeypatch, django_capture_on_commit_callbacks):
    """Two triggers of one event at once: both find nothing, the constraint stops the second insert."""
    survey, customer = SurveyFactory(kind=SurveyKind.TRANSACTIONAL), CustomerFactory()
    winner = InvitationFactory(survey=survey, customer=customer, reference="ORDER-1", state=InvitationState.QUEUED)
    from surveys import launch

    real, looks = launch._same_event, []

    def first_look_misses(*args):  # as if the winner committed between our look and our insert
        looks.append(args)
        return None if len(looks) == 1 else real(*args)

    monkeypatch.setattr(launch, "_same_event", first_look_misses)
    with django_capture_on_commit_callbacks() as callbacks:
        invitation, created = invitation_get_or_create_transactional(
            survey=survey, customer=customer, touchpoint="order", reference="ORDER-1"
        )

    assert (invitation.pk, created) == (winner.pk, False) and len(looks) == 2  # the insert was refused
    assert Invitation.objects.filter(survey=survey).count() == 1 and callbacks == []


def test_recurring_surveys_due_are_launched_once_even_when_run_twice():
    CustomerFactory()
    due = SurveyFactory(repeat_days=30, next_launch_at=timezone.now() - dt.timedelta(hours=1))
    SurveyFactory(repeat_days=30, next_launch_at=timezone.now() + dt.timedelta(days=1))
    assert len(surveys_launch_due()) == 1
    assert surveys_launch_due() == []
    due.refresh_from_db()
    assert due.launches.count() == 1 and due.next_launch_at > timezone.now() + dt.timedelta(days=29)



def test_each_invitation_keeps_the_segment_its_customer_had_when_invited():
    customer = CustomerFactory(segment="SMB")
    launched = survey_launch(survey=SurveyFactory(throttle_days=0))
    triggered, _ = invitation_get_or_create_transactional(
        survey=SurveyFactory(kind=SurveyKind.TRANSACTIONAL, throttle_days=0), customer=customer, touchpoint="order"
    )
    customer.segment = "Enterprise"
    customer.save()

    assert [i.segment for i in launched.invitations.all()] == ["SMB"]
    triggered.refresh_from_db()
    assert triggered.segment == "SMB"


def test_invitations_made_before_the_copy_existed_get_their_customers_segment():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("surveys.migrations.0006_invitation_segment")
    old = InvitationFactory(customer=CustomerFactory(segment="SMB"), segment="")

    migration.copy_current_segment(apps, None)

    old.refresh_from_db()
    assert old.segment == "SMB"
