"""A hand-picked list survey is invited through POST /api/surveys/{id}/invite/, never launched: not by
the command, the API's launch/ or the page's launch URL, whatever segment or sample they name
(surveys.launch._audience, which all three reach)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from surveys.models import AudienceKind, Invitation, Launch
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db

OVERRIDES = [{}, {"segment": "SMB"}, {"sample_percent": "50"}, {"segment": "SMB", "sample_percent": "50"}]


@pytest.fixture
def list_survey():
    CustomerFactory.create_batch(4, segment="SMB")  # none of them on the list
    return SurveyFactory(name="VIP panel", audience=AudienceKind.LIST)


def assert_nobody_invited():
    assert not Invitation.objects.exists() and not Launch.objects.exists()


@pytest.mark.parametrize("override", OVERRIDES)
def test_send_survey_refuses_a_list_survey(list_survey, override):
    args = []
    if "segment" in override:
        args += ["--segment", override["segment"]]
    if "sample_percent" in override:
        args += ["--sample", override["sample_percent"]]

    with pytest.raises(CommandError, match=f"POST /api/surveys/{list_survey.pk}/invite/"):
        call_command("send_survey", "VIP panel", *args, stdout=StringIO())

    assert_nobody_invited()


@pytest.mark.parametrize("override", OVERRIDES)
def test_the_api_launch_refuses_a_list_survey(api_client_as, list_survey, override):
    response = api_client_as("analyst").post(
        reverse("api-survey-launch", args=[list_survey.pk]), override, format="json"
    )

    assert response.status_code == 400
    assert f"POST /api/surveys/{list_survey.pk}/invite/" in str(response.json())
    assert_nobody_invited()


@pytest.mark.parametrize("override", OVERRIDES)
def test_the_page_launch_refuses_a_list_survey(client_as, list_survey, override):
    response = client_as("analyst").post(
        reverse("surveys:survey-launch", args=[list_survey.pk]), {"confirm": "on", **override}
    )

    assert response.status_code == 400
    assert f"POST /api/surveys/{list_survey.pk}/invite/" in response.content.decode()
    assert_nobody_invited()
