import pytest
from django.db import IntegrityError

from surveys.models import Invitation, InvitationState, ResponseCategory, category_for, hash_token
from tests.factories import InvitationFactory, ResponseFactory

pytestmark = pytest.mark.django_db


def test_it_stores_only_the_hash_of_a_256_bit_token():
    invitation = InvitationFactory()
    assert len(invitation.token) >= 43  # 256 bits, URL-safe base64
    assert invitation.token not in (invitation.token_hash, invitation.token_salt)
    assert Invitation.objects.get(token_hash=hash_token(invitation.token)) == invitation


def test_two_invitations_never_share_a_token():
    assert InvitationFactory().token != InvitationFactory().token


@pytest.mark.parametrize(
    ("score", "category"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_it_classes_scores(score, category):
    assert category_for(score) == category


def test_a_response_keeps_its_category_in_step_with_its_score():
    response = ResponseFactory(score=10)
    response.score = 3
    response.save(update_fields=["score"])
    response.refresh_from_db()
    assert response.category == ResponseCategory.DETRACTOR


def test_a_suppressed_invitation_needs_a_reason():
    with pytest.raises(IntegrityError):
        InvitationFactory(state=InvitationState.SUPPRESSED, suppression_reason="")
