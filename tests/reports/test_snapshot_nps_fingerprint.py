"""An NPS snapshot goes stale whenever its figures would change: every invitation outcome, each
survey's series, not only responses and the delivered or bounced counts."""

import datetime as dt

import pytest

from reports.fingerprints import survey_fingerprint
from reports.models import SnapshotKind
from reports.nps import nps_report
from reports.periods import parse_period
from reports.snapshots import snapshot_is_stale, snapshot_request
from surveys.models import Invitation, InvitationState, Survey, SurveyKind
from tests.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
PERIOD = "2025"


def answer(survey, score):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN, created_at=WHEN)
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN)


def queued(survey):
    return InvitationFactory(survey=survey, state=InvitationState.QUEUED, sent_at=None, created_at=WHEN)


@pytest.fixture
def nps_snapshot(django_capture_on_commit_callbacks):
    def make():
        with django_capture_on_commit_callbacks(execute=True):  # eager Celery: computed on commit
            snapshot = snapshot_request(kind=SnapshotKind.NPS, period=PERIOD)
        snapshot.refresh_from_db()
        assert not snapshot_is_stale(snapshot)
        return snapshot

    return make


def figures_now() -> dict:
    return nps_report(period=parse_period(PERIOD)).as_json()


def assert_figures_moved_and_stale(snapshot):
    assert figures_now() != snapshot.figures  # the change matters to the report...
    assert snapshot_is_stale(snapshot)  # ...so the snapshot must not read fresh


@pytest.mark.parametrize(
    ("state", "reason"),
    [(InvitationState.FAILED, ""), (InvitationState.SUPPRESSED, "opted_out"), (InvitationState.SUPPRESSED, "no_email")],
)
def test_a_queued_invitation_failing_or_suppressed_at_send_time_makes_it_stale(nps_snapshot, state, reason):
    survey = SurveyFactory()
    answer(survey, 9)
    invitation = queued(survey)
    snapshot = nps_snapshot()

    Invitation.objects.filter(pk=invitation.pk).update(state=state, suppression_reason=reason)

    assert_figures_moved_and_stale(snapshot)


def test_a_failed_invitation_queued_again_makes_it_stale(nps_snapshot):
    survey = SurveyFactory()
    answer(survey, 9)
    invitation = InvitationFactory(survey=survey, state=InvitationState.FAILED, sent_at=None, created_at=WHEN)
    snapshot = nps_snapshot()

    Invitation.objects.filter(pk=invitation.pk).update(state=InvitationState.QUEUED)

    assert_figures_moved_and_stale(snapshot)


def test_a_survey_moving_to_the_transactional_series_makes_it_stale(nps_snapshot):
    survey = SurveyFactory()
    for score in (9, 10, 2):
        answer(survey, score)
    snapshot = nps_snapshot()

    Survey.objects.filter(pk=survey.pk).update(kind=SurveyKind.TRANSACTIONAL)  # no updated_at either

    assert_figures_moved_and_stale(snapshot)


def test_two_surveys_swapping_series_make_it_stale(nps_snapshot):
    promoters, detractors = SurveyFactory(), SurveyFactory(kind=SurveyKind.TRANSACTIONAL)
    answer(promoters, 10)
    answer(detractors, 0)
    snapshot = nps_snapshot()

    Survey.objects.filter(pk=promoters.pk).update(kind=SurveyKind.TRANSACTIONAL)
    Survey.objects.filter(pk=detractors.pk).update(kind=SurveyKind.RELATIONSHIP)

    assert_figures_moved_and_stale(snapshot)


def test_renaming_a_survey_leaves_it_fresh(nps_snapshot):
    survey = SurveyFactory()
    answer(survey, 9)
    snapshot = nps_snapshot()

    Survey.objects.filter(pk=survey.pk).update(name="Renamed")

    assert not snapshot_is_stale(snapshot)


def test_the_survey_fingerprint_costs_the_same_few_queries_whatever_the_data(django_assert_num_queries):
    for _ in range(3):
        answer(SurveyFactory(), 9)
        queued(SurveyFactory(kind=SurveyKind.TRANSACTIONAL))

    with django_assert_num_queries(3):  # responses, invitations, surveys: one aggregate each
        survey_fingerprint()


def test_a_snapshot_computed_by_an_older_nps_method_is_stale(nps_snapshot):
    # Snapshots stored before the revenue share left anonymous surveys out still held a share
    # that told who answered one: a method change makes them stale, so they are recomputed.
    answer(SurveyFactory(anonymous=True), 0)
    snapshot = nps_snapshot()

    snapshot.fingerprint = {k: v for k, v in snapshot.fingerprint.items() if k != "method"}

    assert snapshot_is_stale(snapshot)
