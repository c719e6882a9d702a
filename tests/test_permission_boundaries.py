"""The API's own permission checks, each pinned by a user holding every permission but the one checked
(SPEC §1: every endpoint checks the roles).

With the three roles alone these checks cannot be told from a looser one (a viewer holds neither
permission, an analyst both), so a user with hand-picked permissions is the only way to see them.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounting.models import Customer, ReasonCategory
from surveys.followups import response_follow_up
from surveys.models import AudienceKind, Invitation, InvitationState, Launch, Response
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _api_for(app_label, *, without):
    """An API client for a user holding every `app_label` permission except `without`."""
    user = UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label=app_label).exclude(codename=without)
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
    return api


def test_setting_a_customers_reason_by_api_needs_the_change_permission():
    """POST /api/customers/<id>/reason/ changes the customer: a user who may read customers (and add
    them) but not change them is refused with a 403, and the reason stays as it was."""
    customer = CustomerFactory(reason=None)
    api = _api_for("accounting", without="change_customer")
    reason = ReasonCategory.objects.get(slug="advertising")

    assert api.get(reverse("api-customer-detail", args=[customer.pk])).status_code == 200
    response = api.post(reverse("api-customer-reason", args=[customer.pk]), {"reason": reason.slug}, format="json")

    assert response.status_code == 403, response.content
    assert Customer.objects.get(pk=customer.pk).reason_id is None


@pytest.mark.parametrize(
    ("route", "audience", "body"),
    [
        ("api-survey-launch", AudienceKind.ALL, {}),
        ("api-survey-invite", AudienceKind.LIST, {"customers": ["EXT1"]}),
        ("api-survey-retry-failed", AudienceKind.ALL, {}),
    ],
)
def test_launching_inviting_and_retrying_by_api_need_the_launch_permission(route, audience, body):
    """Launch, invite and retry-failed email customers: they need `surveys.launch_survey`, not just
    the right to read and edit surveys. Without it: 403, and no launch, invitation or retry."""
    survey = SurveyFactory(audience=audience)
    CustomerFactory(external_id="EXT1")
    failed = InvitationFactory(survey=survey, state=InvitationState.FAILED)
    api = _api_for("surveys", without="launch_survey")
    launches = Launch.objects.filter(survey=survey).count()

    assert api.get(reverse("api-survey-detail", args=[survey.pk])).status_code == 200
    response = api.post(reverse(route, args=[survey.pk]), body, format="json")

    assert response.status_code == 403, response.content
    assert Launch.objects.filter(survey=survey).count() == launches
    assert list(Invitation.objects.filter(survey=survey)) == [failed]
    failed.refresh_from_db()
    assert failed.state == InvitationState.FAILED


@pytest.mark.parametrize("method", ["get", "head"])
def test_opening_the_follow_up_url_changes_nothing(client_as, analyst, method):
    """The follow-up URL takes a POST only: a GET or HEAD (a prefetching browser, a link pasted in a
    chat) answers 405 and leaves a followed-up response as it was, not reopened with its note cleared."""
    response = ResponseFactory(score=3)
    response_follow_up(response=response, user=analyst, note="Called back", done=True)
    before = Response.objects.values("followed_up_at", "followed_up_by", "follow_up_note").get(pk=response.pk)

    answer = getattr(client_as("admin"), method)(reverse("surveys:response-follow-up", args=[response.pk]))

    assert answer.status_code == 405
    assert Response.objects.values("followed_up_at", "followed_up_by", "follow_up_note").get(pk=response.pk) == before


@pytest.mark.parametrize("role", ["analyst", "viewer"])
@pytest.mark.parametrize("page", ["admin:auth_user_changelist", "admin:auth_group_changelist", "admin:auth_user_add"])
def test_staff_status_alone_does_not_let_an_analyst_or_viewer_manage_users(client, role, page):
    """Only admins edit users and roles (SPEC §1): an analyst or viewer whom an admin ticked "staff
    status" for may enter the Django admin, but its user and group pages answer 403, so they cannot
    make themselves admins."""
    user = UserFactory(role=role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)

    assert client.get(reverse(page)).status_code == 403
