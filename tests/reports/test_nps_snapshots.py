"""NPS snapshots: computed by the snapshot machinery, stale when answers change."""

import datetime as dt

import pytest

from reports.models import ReportSnapshot, SnapshotKind, SnapshotStatus
from reports.snapshots import snapshot_is_stale, snapshot_request
from reports.tasks import DEFAULT_KINDS
from surveys.models import InvitationState
from tests.factories import InvitationFactory, ResponseFactory, RevenueEntryFactory, SurveyFactory

pytestmark = pytest.mark.django_db
WHEN = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)


def answer(survey, score, **customer):
    invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=WHEN, **customer)
    return ResponseFactory(invitation=invitation, score=score, answered_at=WHEN)


def test_the_nightly_run_includes_nps():
    assert SnapshotKind.NPS in DEFAULT_KINDS


def test_an_nps_snapshot_stores_the_report_and_goes_stale_when_answers_change(django_capture_on_commit_callbacks):
    survey = SurveyFactory()
    response = answer(survey, 10)
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: computed on commit
        snapshot = snapshot_request(kind=SnapshotKind.NPS, period="2025-Q2")
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.DONE
    assert snapshot.figures["nps"] == "100.0000" and snapshot.figures["responses"] == 1
    assert snapshot.fingerprint["responses"] == 1 and not snapshot_is_stale(snapshot)

    response.score = 0
    response.save()
    assert snapshot_is_stale(ReportSnapshot.objects.get(pk=snapshot.pk))


def test_an_earned_growth_snapshot_ignores_survey_answers(django_capture_on_commit_callbacks):
    entry = RevenueEntryFactory()
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = snapshot_request(kind=SnapshotKind.EARNED_GROWTH, period="2025")
    snapshot.refresh_from_db()
    answer(SurveyFactory(), 3, customer=entry.customer)  # an answer by a known customer: no new customer
    assert not snapshot_is_stale(snapshot)
