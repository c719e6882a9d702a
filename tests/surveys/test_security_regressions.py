"""Regressions of the security audit's fixes in the surveys app: no imported answers that name
their customer in an anonymous survey, an invitation's name that does not tell whether it was
answered, and a launched survey that the API does not delete."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from surveys.models import Invitation, InvitationState, Launch, Response, Survey
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "customer,survey,score,answered_at,comment,touchpoint\n"


# --- import_responses into an anonymous survey ---------------------------------------------------


def test_answers_that_name_their_customer_are_not_imported_into_an_anonymous_survey(tmp_path):
    # Each imported row names its customer and gets an invitation stamped with the answer's time:
    # in an anonymous survey that time would tie every answer to its customer.
    SurveyFactory(name="Staff pulse", anonymous=True)
    SurveyFactory(name="Legacy NPS", anonymous=False)
    for external_id in ("C1", "C2"):
        CustomerFactory(external_id=external_id)
    path = tmp_path / "answers.csv"
    path.write_text(HEADER + "C1,Legacy NPS,9,2025-03-01,fine,\n" + "C2,Staff pulse,2,2025-03-02T11:00:00,awful,\n")
    err = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("import_responses", str(path), stdout=StringIO(), stderr=err)

    errors = err.getvalue()
    assert "row 3, column survey: 'Staff pulse' is an anonymous survey" in errors
    assert "row 2" not in errors  # the other survey's row is fine, but the file is all or nothing
    assert "rejected" in str(failure.value)
    assert not Response.objects.exists() and not Invitation.objects.exists()
    assert Survey.objects.count() == 2


@pytest.fixture
def holding_imported_answers(tmp_path):
    """A named survey that import_responses filled: its invitations carry the answers' times."""
    survey = SurveyFactory(name="Legacy NPS", anonymous=False)
    CustomerFactory(external_id="C1")
    path = tmp_path / "answers.csv"
    path.write_text(HEADER + "C1,Legacy NPS,9,2025-03-01,fine,\n")
    call_command("import_responses", str(path), stdout=StringIO())
    return survey


def test_a_survey_holding_imported_answers_cannot_become_anonymous_by_api(api_client_as, holding_imported_answers):
    survey = holding_imported_answers

    response = api_client_as("admin").patch(reverse("api-survey-detail", args=[survey.pk]), {"anonymous": True},
                                            format="json")

    assert response.status_code == 400
    assert "imported answers" in response.json()["anonymous"][0]
    survey.refresh_from_db()
    assert not survey.anonymous


def test_a_survey_holding_imported_answers_cannot_become_anonymous_in_the_admin(client_as, holding_imported_answers):
    survey = holding_imported_answers
    client = client_as("admin")
    page = client.get(reverse("admin:surveys_survey_change", args=[survey.pk]))
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update(anonymous="on", owner="")

    response = client.post(reverse("admin:surveys_survey_change", args=[survey.pk]), data)

    assert response.status_code == 200
    assert "imported answers" in response.content.decode()
    survey.refresh_from_db()
    assert not survey.anonymous


# --- An invitation's name in the admin -----------------------------------------------------------


@pytest.fixture
def answered_and_silent():
    """An anonymous survey's invitations, one answered, one not: (answered, silent)."""
    survey = SurveyFactory(name="Staff pulse", anonymous=True)
    answered = InvitationFactory(survey=survey, customer=CustomerFactory(external_id="ANSWERED"),
                                 state=InvitationState.RESPONDED)
    ResponseFactory(invitation=answered, score=2, reason="The manager shouts")
    silent = InvitationFactory(survey=survey, customer=CustomerFactory(external_id="SILENT"))
    return answered, silent


@pytest.fixture(params=["admin role", "superuser"])
def admin_client(request, client):
    if request.param == "superuser":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    else:
        client.force_login(UserFactory(role="admin"))
    return client


def _title(html: str, invitation: Invitation) -> str:
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    return " ".join(title.split()).replace(f"#{invitation.pk}", "#N")


@pytest.mark.parametrize("view", ["change", "history"])
def test_an_anonymous_survey_invitation_page_title_does_not_say_whether_it_was_answered(
    admin_client, answered_and_silent, view
):
    titles = []
    for invitation in answered_and_silent:
        page = admin_client.get(reverse(f"admin:surveys_invitation_{view}", args=[invitation.pk]))
        assert page.status_code == 200
        assert f"Invitation #{invitation.pk}" in page.text
        titles.append(_title(page.text, invitation))

    assert titles[0] == titles[1]
    assert "responded" not in titles[0]


def test_the_admin_autocomplete_of_invitations_does_not_say_whether_one_was_answered(
    admin_client, answered_and_silent
):
    texts = []
    for invitation in answered_and_silent:
        found = admin_client.get("/admin/autocomplete/", {
            "app_label": "surveys", "model_name": "response", "field_name": "invitation",
            "term": invitation.customer.external_id,
        })
        assert found.status_code == 200
        (result,) = found.json()["results"]
        assert result["id"] == str(invitation.pk)
        texts.append(result["text"].replace(f"#{invitation.pk}", "#N"))

    assert texts[0] == texts[1] == "Invitation #N"


# --- Deleting a survey through the API -----------------------------------------------------------


def test_the_api_does_not_delete_a_survey_launched_to_nobody(api_client_as):
    survey = SurveyFactory(audience="sample", sample_percent=1)  # of no customer: a launch to nobody
    api = api_client_as("admin")
    launched = api.post(reverse("api-survey-launch", args=[survey.pk]), {}, format="json")
    assert launched.status_code == 201, launched.content
    assert not survey.invitations.exists()

    response = api.delete(reverse("api-survey-detail", args=[survey.pk]))

    assert response.status_code == 409
    assert Survey.objects.filter(pk=survey.pk).exists()
    launch = Launch.objects.get(survey=survey)
    assert launch.audience_size == 0 and launch.launched_by is not None
