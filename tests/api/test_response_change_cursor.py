"""/api/responses/?changed_after=<updated_at>,<id>: an incremental pull that neither skips nor
repeats a row while rows change between its requests.

Page numbers shift: a follow-up recorded on a row of page 1 moved it to the end of
`ordering=updated_at`, and page 2 then began one row later, so a row was never listed (and
de-duplicating by id could not bring it back). The position of the last row read does not shift.
"""

import datetime as dt

import pytest
from django.urls import reverse

from surveys.models import Response
from tests.api.change_pulls import pull_changed
from tests.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

START = "2000-01-01T00:00:00Z,0"


def _pull(api, cursor, on_page=None):
    return pull_changed(api, reverse("api-response-list"), cursor, on_page)


def test_a_row_changed_after_it_was_read_is_listed_again_and_no_row_is_skipped(api_client_as):
    survey = SurveyFactory()
    answers = ResponseFactory.create_batch(120, invitation__survey=survey)
    api = api_client_as("analyst")

    def follow_up_a_row_already_read(page):
        reply = api.patch(reverse("api-response-detail", args=[page[3]["id"]]), {"followed_up": True}, format="json")
        assert reply.status_code == 200, reply.content

    rows = _pull(api, START, on_page=follow_up_a_row_already_read)

    ids = [row["id"] for row in rows]
    assert set(ids) == {answer.pk for answer in answers}
    assert len(ids) == 121  # the followed-up row once more, as it now is
    assert rows[-1]["followed_up_at"] is not None


def test_rows_changed_at_the_same_moment_are_each_listed_once(api_client_as):
    answers = ResponseFactory.create_batch(120, invitation__survey=SurveyFactory())
    Response.objects.update(updated_at=dt.datetime(2025, 3, 10, 12, 0, 0, 123456, tzinfo=dt.UTC))

    ids = [row["id"] for row in _pull(api_client_as("analyst"), START)]

    assert ids == sorted(answer.pk for answer in answers)


def test_the_cursor_reads_updated_at_as_the_api_writes_it(api_client_as, settings):
    settings.TIME_ZONE = "Europe/Paris"  # updated_at shown with an offset and microseconds
    first, second = ResponseFactory.create_batch(2, invitation__survey=SurveyFactory())
    moment = dt.datetime(2025, 3, 10, 12, 0, 0, 654321, tzinfo=dt.UTC)
    Response.objects.filter(pk__in=[first.pk, second.pk]).update(updated_at=moment)
    api = api_client_as("analyst")
    shown = api.get(reverse("api-response-detail", args=[first.pk])).json()["updated_at"]

    after_first = _pull(api, f"{shown},{first.pk}")

    assert shown == "2025-03-10T13:00:00.654321+01:00"
    assert [row["id"] for row in after_first] == [second.pk]


@pytest.mark.parametrize(
    "value",
    ["2025-03-10T12:00:00Z", "4711", "2025-03-10T12:00:00Z,", "2025-03-10T12:00:00Z,-1", "2025-03-10T12:00:00Z,x",
     "2025-02-30T12:00:00Z,1", "2025-03-10T12:00:00Z,١٢", f"2025-03-10T12:00:00Z,{2**63}"],
)
def test_a_bad_cursor_is_a_400_keyed_by_the_parameter(api_client_as, value):
    response = api_client_as("analyst").get(reverse("api-response-list"), {"changed_after": value})

    assert response.status_code == 400
    assert set(response.json()) == {"changed_after"}


def test_an_ordering_with_the_cursor_is_refused(api_client_as):
    response = api_client_as("analyst").get(
        reverse("api-response-list"), {"changed_after": START, "ordering": "-answered_at"}
    )

    assert response.status_code == 400
    assert "Leave ordering out" in response.json()["ordering"][0]


def test_the_schema_documents_the_cursor(api_client_as):
    schema = api_client_as("viewer").get("/api/schema/", {"format": "json"}).json()

    parameters = {p["name"]: p for p in schema["paths"]["/api/responses/"]["get"]["parameters"]}
    assert parameters["changed_after"]["schema"]["example"] == "2025-03-10T12:00:00.123456Z,4711"
