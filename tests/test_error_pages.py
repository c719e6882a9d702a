"""Error pages in the project's layout: Django's bare defaults ("<h1>Not Found</h1>", an empty 405,
"Server Error (500)", its grey CSRF page) left staff and customers with no way back, and told nobody
why. With DEBUG off, as in production: no traceback, no settings, no detail of permissions."""

import pytest
from django.template import loader
from django.test import Client
from django.urls import reverse

from surveys.models import Survey
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db

LAYOUT = "css/app.css"  # every page of the layout links the project's stylesheet
HOME = 'href="/"'


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


def _page(response) -> str:
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert LAYOUT in body and HOME in body
    assert "Traceback" not in body and "DEBUG" not in body and "SECRET_KEY" not in body
    return body


def test_404_a_missing_customer_gets_the_projects_page(client_as):
    response = client_as("admin").get("/customers/999999/")

    assert response.status_code == 404
    assert "Page not found" in _page(response)


def test_404_under_the_api_stays_json(client_as):
    response = client_as("admin").get("/api/no-such-endpoint/")

    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_403_says_the_role_does_not_allow_it_and_nothing_more(client_as):
    response = client_as("viewer").get(reverse("accounting:import-list"))

    assert response.status_code == 403
    body = _page(response)
    assert "Your role does not allow" in body and "add_importbatch" not in body


def test_405_a_launch_link_opened_from_the_history_gets_a_page_and_keeps_allow(client_as):
    survey = SurveyFactory()

    response = client_as("admin").get(reverse("surveys:survey-launch", args=[survey.pk]))

    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "is not a page" in _page(response)


def test_405_under_the_api_stays_json(api_client_as):
    response = api_client_as("admin").delete(reverse("api-customer-list"))

    assert response.status_code == 405 and "detail" in response.json()


def test_500_shows_the_page_without_the_error(admin, monkeypatch):
    import surveys.views

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(surveys.views.selectors, "survey_list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(admin)

    response = client.get(reverse("surveys:survey-list"))

    assert response.status_code == 500
    assert "boom" not in _page(response)


def test_500_renders_without_a_request_or_the_database(django_assert_num_queries):
    """Django renders 500.html with no context at all; the error may be the database itself."""
    with django_assert_num_queries(0):
        body = loader.get_template("500.html").render()

    assert LAYOUT in body and "Something went wrong" in body


def test_bad_host_400_gets_the_projects_page(client):
    response = client.get(reverse("login"), HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert "Bad request" in _page(response)


def test_csrf_failure_page_is_in_the_project_layout(admin):
    """An expired form (or blocked cookies) said "More information is available with DEBUG=True"."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)

    response = client.post(reverse("surveys:survey-create"), {"name": "x"})

    assert response.status_code == 403
    body = _page(response)
    assert "This form has expired" in body and "reload the page" in body
    assert not Survey.objects.exists()


@pytest.mark.parametrize(("language", "title"), [("de", "Dieses Formular ist abgelaufen"),
                                                 ("fr", "Ce formulaire a expiré")])
def test_a_customer_whose_answer_form_expired_reads_why_in_their_language(language, title):
    """The answer page's POST is the form customers send; its CSRF failure is theirs to read."""
    from tests.factories import InvitationFactory

    invitation = InvitationFactory(language=language)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")  # the invitation's language wins
    response = client.post(reverse("survey-answer", args=[invitation.token]), {"score": 9})
    assert response.status_code == 403
    assert title in response.content.decode()
