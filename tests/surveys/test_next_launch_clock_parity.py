"""A survey's next launch typed on the company's clock: the staff form, the admin and the API read
it alike (surveys.clock). A time the spring change skips is refused, one the autumn change repeats
is its first occurrence, and one past the calendar's edge is a field error, never a 500."""

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from surveys.clock import OUT_OF_RANGE
from surveys.models import Survey
from tests.factories import SurveyFactory
from tests.form_data import admin_change_data, survey_form_data

pytestmark = pytest.mark.django_db

PARIS = "Europe/Paris"
# Past year 9999 in UTC; before year 1 in UTC.
CALENDAR_EDGES = [("America/New_York", "9999-12-31T23:00"), ("Pacific/Auckland", "0001-01-01T05:00")]
EDGE_IDS = ["last-day-new-york", "first-day-auckland"]


def _form_create(client, next_launch_at):
    data = survey_form_data(name="Form", repeat_days="7", next_launch_at=next_launch_at)
    return client.post(reverse("surveys:survey-create"), data)


def _api_create(api, **body):
    return api.post("/api/surveys/", {"name": "Api", "repeat_days": 7, **body}, format="json")


def test_api_refuses_a_next_launch_the_clocks_skip_as_the_form_does(client_as, api_client_as):
    with override_settings(TIME_ZONE=PARIS), timezone.override(PARIS):
        form = _form_create(client_as("admin"), "2026-03-29T02:30")
        assert form.status_code == 400 and "does not exist" in form.text

        api = _api_create(api_client_as("admin"), next_launch_at="2026-03-29T02:30")

    assert api.status_code == 400, f"stored {Survey.objects.get(name='Api').next_launch_at} (03:30 local, not 02:30)"
    assert api.json() == {
        "next_launch_at": ["2026-03-29 02:30 does not exist in Europe/Paris: the clocks skip it. Choose another time."]
    }


def test_api_reads_a_repeated_hour_as_its_first_occurrence_as_the_form_does(client_as, api_client_as):
    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST, before the clocks go back
    with override_settings(TIME_ZONE=PARIS), timezone.override(PARIS):
        form = _form_create(client_as("admin"), "2026-10-25T02:30")
        assert form.status_code == 302
        api = _api_create(api_client_as("admin"), next_launch_at="2026-10-25T02:30")

    assert api.status_code == 201, api.json()
    assert Survey.objects.get(name="Form").next_launch_at == Survey.objects.get(name="Api").next_launch_at == first


def test_api_takes_a_next_launch_with_an_offset_as_given(api_client_as):
    with override_settings(TIME_ZONE=PARIS), timezone.override(PARIS):
        api = _api_create(api_client_as("admin"), next_launch_at="2026-03-29T02:30+02:00")

    assert api.status_code == 201, api.json()
    assert Survey.objects.get(name="Api").next_launch_at == dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(("zone", "value"), CALENDAR_EDGES, ids=EDGE_IDS)
def test_a_next_launch_past_the_calendar_is_a_form_error_not_a_500(client, admin, zone, value):
    client.raise_request_exception = False
    client.force_login(admin)
    with override_settings(TIME_ZONE=zone), timezone.override(zone):
        response = client.post(
            reverse("surveys:survey-create"), survey_form_data(name="Edge", repeat_days="7", next_launch_at=value)
        )

    assert response.status_code == 400
    assert response.context["form"].errors["next_launch_at"] == [OUT_OF_RANGE]


@pytest.mark.parametrize(("zone", "value"), CALENDAR_EDGES, ids=EDGE_IDS)
def test_a_next_launch_past_the_calendar_is_a_400_from_the_api(api_client_as, zone, value):
    api = api_client_as("admin")
    api.raise_request_exception = False
    with override_settings(TIME_ZONE=zone), timezone.override(zone):
        response = _api_create(api, name="Edge", next_launch_at=value)

    assert response.status_code == 400
    assert response.json() == {"next_launch_at": [OUT_OF_RANGE]}


def test_a_next_launch_with_an_offset_past_the_calendar_is_a_400_from_the_api(api_client_as):
    api = api_client_as("admin")
    api.raise_request_exception = False

    response = _api_create(api, name="Edge", next_launch_at="9999-12-31T23:00-05:00")

    assert response.status_code == 400
    assert response.json() == {"next_launch_at": [OUT_OF_RANGE]}


@pytest.mark.parametrize(("zone", "value"), CALENDAR_EDGES, ids=EDGE_IDS)
def test_a_next_launch_past_the_calendar_is_a_field_error_in_the_admin(client_as, zone, value):
    survey = SurveyFactory(repeat_days=7)
    client = client_as("admin")
    client.raise_request_exception = False
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    day, time = value.split("T")
    with override_settings(TIME_ZONE=zone), timezone.override(zone):
        data = admin_change_data(client, url, next_launch_at_0=day, next_launch_at_1=time)
        response = client.post(url, data)

    assert response.status_code == 200, response.status_code
    assert response.context["adminform"].form.errors["next_launch_at"] == [OUT_OF_RANGE]
