"""Every survey page and API endpoint as anonymous, viewer, analyst and admin.

Anonymous users log in (401 on the API); viewers (dashboards only) get 403; analysts and admins
view, create, edit, launch and follow up; only admins delete a survey.
"""

import pytest
from django.urls import reverse

from surveys.models import Response, SurveyKind
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

ROLES_AND_STATUSES = [("admin", "ok"), ("analyst", "ok"), ("viewer", 403), (None, "login")]


@pytest.fixture
def world():
    survey = SurveyFactory(name="Relationship")
    transactional = SurveyFactory(name="After order", kind=SurveyKind.TRANSACTIONAL)
    response = ResponseFactory(invitation__survey=survey, score=3, reason="Too slow")
    return {
        "survey": survey,
        "transactional": transactional,
        "empty": SurveyFactory(name="Unused"),
        "invitation": InvitationFactory(survey=transactional),
        "response": response,
        "customer": CustomerFactory(external_id="EXT1"),
    }


# (page, method, object, data, status when allowed)
PAGES = [
    ("survey-list", "get", None, None, 200),
    ("survey-create", "get", None, None, 200),
    ("survey-create", "post", None, {}, 400),
    ("survey-detail", "get", "survey", None, 200),
    ("survey-edit", "get", "survey", None, 200),
    ("survey-edit", "post", "survey", {}, 400),
    ("survey-preview", "get", "survey", None, 200),
    ("survey-launch", "post", "survey", {}, 400),  # not confirmed: the form again, nothing sent
    ("response-list", "get", None, None, 200),
    ("response-export", "get", None, None, 200),
    ("response-detail", "get", "response", None, 200),
    ("response-follow-up", "post", "response", {"note": "Called back", "done": "on"}, 302),
]


def _url(name, obj, world):
    return reverse(f"surveys:{name}", args=[world[obj].pk] if obj else [])


@pytest.mark.parametrize(("page", "method", "obj", "data", "allowed"), PAGES)
@pytest.mark.parametrize(("role", "expected"), ROLES_AND_STATUSES)
def test_it_checks_the_role_on_every_page(client_as, world, page, method, obj, data, allowed, role, expected):
    client = client_as(role)
    response = getattr(client, method)(_url(page, obj, world), data)
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    elif expected == "ok":
        assert response.status_code == allowed
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer", None])
def test_it_answers_405_to_a_get_on_the_launch_url(client_as, world, role):
    response = client_as(role).get(_url("survey-launch", "survey", world))
    assert response.status_code == 405
    assert not world["survey"].launches.exists()


def test_a_viewer_cannot_follow_up(client_as, world):
    client_as("viewer").post(_url("response-follow-up", "response", world), {"note": "x", "done": "on"})
    assert Response.objects.get(pk=world["response"].pk).followed_up_at is None


# --- API -----------------------------------------------------------------------------------------

API_ROLES = (None, "viewer", "analyst", "admin")
TRIGGER = {"survey": "transactional", "customer": "EXT1", "touchpoint": "checkout", "reference": "O-1"}

# (method, route[:object], body, expected for anonymous, viewer, analyst, admin)
CASES = [
    ("get", "api-survey-list", None, (401, 403, 200, 200)),
    ("post", "api-survey-list", {"name": "New survey"}, (401, 403, 201, 201)),
    ("get", "api-survey-detail:survey", None, (401, 403, 200, 200)),
    ("patch", "api-survey-detail:survey", {"expiry_days": 10}, (401, 403, 200, 200)),
    ("delete", "api-survey-detail:empty", None, (401, 403, 403, 204)),
    ("post", "api-survey-launch:empty", {}, (401, 403, 201, 201)),
    ("get", "api-survey-launch:survey", None, (401, 405, 405, 405)),
    ("get", "api-invitation-list", None, (401, 403, 200, 200)),
    ("post", "api-invitation-list", TRIGGER, (401, 403, 201, 201)),
    ("get", "api-invitation-detail:invitation", None, (401, 403, 200, 200)),
    ("patch", "api-invitation-detail:invitation", {"state": "sent"}, (401, 405, 405, 405)),
    ("delete", "api-invitation-detail:invitation", None, (401, 405, 405, 405)),
    ("get", "api-response-list", None, (401, 403, 200, 200)),
    ("post", "api-response-list", {"score": 10}, (401, 405, 405, 405)),
    ("get", "api-response-detail:response", None, (401, 403, 200, 200)),
    ("patch", "api-response-detail:response", {"follow_up_note": "Called"}, (401, 403, 200, 200)),
    ("put", "api-response-detail:response", {"follow_up_note": "Called"}, (401, 405, 405, 405)),
    ("delete", "api-response-detail:response", None, (401, 405, 405, 405)),
]

PARAMS = [
    pytest.param(method, route, body, role, expected[i], id=f"{method.upper()} {route} as {role}")
    for method, route, body, expected in CASES
    for i, role in enumerate(API_ROLES)
]


def _api_url(name, world):
    route, _, obj = name.partition(":")
    return reverse(route, args=[world[obj].pk]) if obj else reverse(route)


def _body(body, world):
    if body is TRIGGER:
        return {**body, "survey": world["transactional"].pk}
    return body


@pytest.mark.parametrize(("method", "route", "body", "role", "expected"), PARAMS)
def test_each_role_gets_the_status_its_permissions_allow(api_client_as, world, method, route, body, role, expected):
    api = api_client_as(role)
    response = getattr(api, method)(_api_url(route, world), _body(body, world), format="json")
    assert response.status_code == expected, response.content


# --- Django admin --------------------------------------------------------------------------------

ADMIN_MODELS = ["survey", "launch", "invitation", "response", "suppressedaddress"]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_the_admin_lists_every_survey_model(client_as, world, model):
    assert client_as("admin").get(reverse(f"admin:surveys_{model}_changelist")).status_code == 200


@pytest.mark.parametrize("model", ["invitation", "response"])
def test_the_admin_shows_records_read_only(client_as, world, model):
    obj = world[model]
    client = client_as("admin")
    page = client.get(reverse(f"admin:surveys_{model}_change", args=[obj.pk]))
    assert page.status_code == 200
    assert client.get(reverse(f"admin:surveys_{model}_add")).status_code == 403
    body = page.content.decode()
    assert "token_salt" not in body and "token_hash" not in body and obj_token(obj) not in body


def obj_token(obj):
    return getattr(obj, "token", None) or obj.invitation.token


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_only_admins_open_the_django_admin(client_as, world, role):
    response = client_as(role).get(reverse("admin:surveys_survey_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_fresh_migrate_gives_the_roles_their_survey_permissions():
    from django.contrib.auth.models import Group

    def codenames(role):
        return set(Group.objects.get(name=role).permissions.filter(content_type__app_label="surveys")
                   .values_list("codename", flat=True))

    assert {"launch_survey", "add_survey", "change_response", "view_invitation"} <= codenames("analyst")
    assert "delete_survey" in codenames("admin") and "delete_survey" not in codenames("analyst")
    assert codenames("viewer") == set()
