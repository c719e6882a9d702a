"""Each launch records how it was made (the survey page, the API, `manage.py send_survey`, the
schedule): a command's launch has no user either, and the survey page called it the schedule's."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from surveys.launch import surveys_launch_due
from surveys.models import Launch, LaunchChannel
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def a_customer():
    return CustomerFactory()


def test_a_launch_from_the_survey_page_is_the_page_and_names_its_user(client_as):
    survey = SurveyFactory()
    client = client_as("analyst")
    client.post(reverse("surveys:survey-launch", args=[survey.pk]), {"confirm": "on"})
    launch = Launch.objects.get(survey=survey)
    assert launch.via == LaunchChannel.PAGE and launch.launched_by is not None
    page = client.get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()
    assert f"<td>{launch.launched_by}, survey page</td>" in page


def test_a_launch_through_the_api_is_the_apis(api_client_as):
    survey = SurveyFactory()
    response = api_client_as("analyst").post(f"/api/surveys/{survey.pk}/launch/", {}, format="json")
    assert response.status_code == 201 and response.json()["via"] == "api"
    assert Launch.objects.get(survey=survey).via == LaunchChannel.API


def test_a_launch_by_the_command_is_not_shown_as_the_schedules(client_as):
    call_command("send_survey", "Q4", stdout=StringIO())
    launch = Launch.objects.get(survey__name="Q4")
    assert launch.via == LaunchChannel.COMMAND and launch.launched_by is None
    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[launch.survey.pk])).content.decode()
    assert "<td>manage.py</td>" in page and "<td>schedule</td>" not in page


def test_a_launch_by_the_schedule_is_the_schedules(time_machine):
    survey = SurveyFactory(repeat_days=30)
    survey.next_launch_at = timezone.now()
    survey.save()
    time_machine.move_to(timezone.now() + timezone.timedelta(minutes=1))
    surveys_launch_due()
    assert Launch.objects.get(survey=survey).via == LaunchChannel.SCHEDULE
