"""A NUL byte (`%00`) in a query string is a 400, on PostgreSQL as on SQLite. PostgreSQL refuses NUL
in text ("PostgreSQL text fields cannot contain NUL (0x00) bytes", a DataError), so a value that
reached a query before any form checked it was a 500: the NPS dashboard's past-segment lookup, the
Django admin's list filters."""

import pytest
from django.urls import reverse

from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False  # a 500 is a status to assert on, not an exception
    return client


@pytest.mark.parametrize("query", ["segment=%00", "segment=a%00", "period=2025&segment=%00",
                                   "period=2025&segment=%00&format=csv", "seg%00ment=a"])
def test_the_nps_dashboard_refuses_a_nul_in_its_parameters(quiet, viewer, query):
    quiet.force_login(viewer)
    response = quiet.get(f"/reports/nps/?{query}")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


@pytest.mark.parametrize("url", [
    "/admin/reports/reportsnapshot/?period=%00",
    "/admin/reports/reportsnapshot/?status__exact=%00",
    "/admin/accounting/importbatch/?status__exact=%00",
    "/admin/surveys/survey/?status__exact=%00",
    "/admin/django_celery_beat/intervalschedule/?period=%00",
])
def test_admin_list_filters_refuse_a_nul(quiet, admin, url):
    quiet.force_login(admin)
    assert quiet.get(url).status_code == 400


def test_the_api_keeps_its_own_400_naming_the_field(api_client_as):
    response = api_client_as("viewer").get("/api/reports/nps/?period=2025&segment=%00")
    assert response.status_code == 400 and set(response.json()) == {"segment"}


def test_a_customer_link_with_a_nul_gets_the_page_in_their_language_and_stays_private(quiet):
    invitation = InvitationFactory(language="de")
    response = quiet.get(reverse("survey-answer", args=[invitation.token]) + "?score=%00")
    assert response.status_code == 400
    assert "Ungültige Anfrage" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_a_query_string_without_nul_passes(quiet, viewer):
    quiet.force_login(viewer)
    assert quiet.get("/reports/nps/?period=2025&segment=").status_code == 200
