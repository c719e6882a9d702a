"""Mutation audit (web pages): the messages after an upload and a follow-up, the responses CSV's
file name, and what every staff page gets from the context processor."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_rejected_upload_says_how_many_errors_it_had(client_as):
    """The message after a rejected file names it, says nothing was imported and how many errors
    the page lists (two here: an unknown customer and a bad amount)."""
    content = (
        "customer,date,amount,external_ref,product\n"
        "NOBODY,2025-01-31,12.00,INV-1,Plan\n"
        "NOBODY,2025-01-31,twelve,INV-2,Plan\n"
    )
    upload = SimpleUploadedFile("bad.csv", content.encode(), content_type="text/csv")

    response = client_as("analyst").post(reverse("accounting:import-list"), {"kind": "revenue", "file": upload},
                                         follow=True)

    assert any(
        text.startswith("bad.csv was rejected and nothing was imported: ") and " error(s), listed below." in text
        for text in _messages(response)
    )
    batch = response.context["batch"]
    assert f": {batch.error_count} error(s), listed below." in " ".join(_messages(response))
    assert batch.error_count >= 2


def test_the_responses_csv_is_named_after_the_companys_day(client_as, settings):
    """The export's file name carries the company's date (not UTC's): at 23:30 UTC on 3 March it is
    already 4 March in Paris."""
    settings.TIME_ZONE = "Europe/Paris"
    with time_machine.travel(dt.datetime(2025, 3, 3, 23, 30, tzinfo=dt.UTC), tick=False):
        response = client_as("analyst").get(reverse("surveys:response-export"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="responses-2025-03-04.csv"'


def test_a_follow_up_saved_from_a_filtered_list_names_the_response(client_as):
    """Back on the list after a follow-up, the message says which response was saved; without a
    list to go back to, the response's own page needs no number."""
    answer = ResponseFactory(score=2, invitation__survey=SurveyFactory())
    client = client_as("analyst")
    url = reverse("surveys:response-follow-up", args=[answer.pk])

    from_list = client.post(f"{url}?back=/responses/%3Fband%3Ddetractor", {"note": "Called", "done": "on"},
                            follow=True)
    from_page = client.post(url, {"note": "Called again", "done": "on"}, follow=True)

    assert _messages(from_list) == [f"Follow-up saved (response {answer.pk})."]
    assert _messages(from_page) == ["Follow-up saved."]


def test_the_pages_state_amounts_in_the_reporting_currency(client_as, settings):
    """Every page that shows amounts names the configured currency (REPORTING_CURRENCY)."""
    settings.REPORTING_CURRENCY = "CHF"
    CustomerFactory()

    page = client_as("analyst").get(reverse("accounting:customer-list"))

    assert page.status_code == 200
    assert "Amounts in CHF." in page.content.decode()


@pytest.mark.parametrize("eager", [True, False])
def test_the_demo_mode_banner_shows_only_when_tasks_run_inline(client_as, settings, eager):
    """Without a broker (CELERY_TASK_ALWAYS_EAGER) every staff page says it is the demo mode."""
    settings.CELERY_TASK_ALWAYS_EAGER = eager

    page = client_as("analyst").get(reverse("accounting:customer-list"))

    assert page.status_code == 200
    assert ('aria-label="Demo mode"' in page.content.decode()) is eager
