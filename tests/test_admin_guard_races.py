"""The Django admin's guards under concurrency (PostgreSQL): the last admin, a launched survey.

Two admins, at the same moment, each take the admin role from the other (or deactivate the other)
through the admin's change form. Each form's check counted the *other* admin as the one who
remains, without locking anything, so both passed and nobody was left able to manage users and
roles; a lock on the admin role's row now puts the second change after the first, which it refuses.
"""

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from cxplatform.admin import active_admins
from cxplatform.roles import sync_roles
from surveys.launch import survey_launch
from surveys.models import Invitation, LaunchChannel, Survey
from tests.concurrency import while_first_is_held
from tests.factories import CustomerFactory, SurveyFactory, UserFactory
from tests.form_data import admin_user_change_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="races need PostgreSQL"),
]


@pytest.fixture(autouse=True)
def roles():
    sync_roles()


def _two_admins():
    alice = UserFactory(username="alice", role="admin")
    dora = UserFactory(username="dora", role="admin")
    as_alice, as_dora = Client(), Client()
    as_alice.force_login(alice)
    as_dora.force_login(dora)
    return alice, dora, as_alice, as_dora


def _post(client, user, data):
    url = reverse("admin:auth_user_change", args=[user.pk])
    return lambda: client.post(url, data).status_code


def _change(client, user, **changes):
    url = reverse("admin:auth_user_change", args=[user.pk])
    return _post(client, user, admin_user_change_data(client, url, **changes))


def test_two_admins_demoting_each_other_at_once_leave_an_admin():
    alice, dora, as_alice, as_dora = _two_admins()
    analyst = Group.objects.get(name="analyst").pk
    alice_demotes_dora = _change(as_alice, dora, groups=[analyst])
    dora_demotes_alice = _change(as_dora, alice, groups=[analyst])

    outcome = while_first_is_held(alice_demotes_dora, dora_demotes_alice)

    assert outcome.error is None, outcome.error
    assert active_admins().exists(), (
        f"both demotions passed the last-admin check (second answered {outcome.result}): "
        "no active admin is left to manage users and roles"
    )


def test_two_admins_deactivating_each_other_at_once_leave_an_admin():
    alice, dora, as_alice, as_dora = _two_admins()
    alice_deactivates_dora = _change(as_alice, dora, is_active=None)
    dora_deactivates_alice = _change(as_dora, alice, is_active=None)

    outcome = while_first_is_held(alice_deactivates_dora, dora_deactivates_alice)

    assert outcome.error is None, outcome.error
    assert active_admins().exists(), "both deactivations passed the last-admin check: no active admin left"



@pytest.mark.parametrize("how", ["delete page", "bulk action"])
def test_a_survey_launched_while_its_delete_is_posted_is_kept(how):
    """The delete page was read before the launch: the delete waited for the launch's lock on the
    survey row, then failed on the invitations' foreign key (a 500). Refused, the launch kept."""
    CustomerFactory.create_batch(3)
    survey = SurveyFactory(throttle_days=0)
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    if how == "delete page":
        url, data = reverse("admin:surveys_survey_delete", args=[survey.pk]), {"post": "yes"}
    else:
        url = reverse("admin:surveys_survey_changelist")
        data = {"action": "delete_selected", "_selected_action": [survey.pk], "post": "yes"}

    outcome = while_first_is_held(
        lambda: survey_launch(survey=Survey.objects.get(pk=survey.pk), via=LaunchChannel.API),
        lambda: client.post(url, data),
    )

    assert outcome.error is None, outcome.error
    # Refused: the delete page, which waited for the launch, is drawn again saying why (its records
    # are protected); the bulk action, which checks before it waits, answers 403.
    page = outcome.result
    assert page.status_code == 403 or (page.status_code == 200 and page.context["perms_lacking"]), page.status_code
    assert Invitation.objects.filter(survey_id=survey.pk).count() == 3
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()  # no deletion logged that did not happen
