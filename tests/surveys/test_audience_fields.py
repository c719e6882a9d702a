"""A survey's audience fields agree with its kind of audience: a stored sample may be of one
segment (and is drawn from it); a segment on any other audience, a percentage on anything but a
sample, or a schedule on a hand-picked list is refused by the form, the API and the database."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from surveys.launch import survey_launch
from surveys.models import AudienceKind, Survey
from tests.factories import CustomerFactory, SurveyFactory

pytestmark = pytest.mark.django_db

SEGMENT_ELSEWHERE = "Only a segment audience or a sample names a segment"
PERCENT_ELSEWHERE = "Only a sample audience takes a percentage"

# (audience, the field that does not fit it, its value, the form's message)
MISFITS = [
    ("all", "audience_segment", "ENT", SEGMENT_ELSEWHERE),
    ("list", "audience_segment", "ENT", SEGMENT_ELSEWHERE),
    ("all", "sample_percent", "10", PERCENT_ELSEWHERE),
    ("segment", "sample_percent", "10", PERCENT_ELSEWHERE),
    ("list", "repeat_days", 7, "A hand-picked list is invited through the API, not relaunched"),
]
MISFIT_IDS = [f"{field}-on-{audience}" for audience, field, _value, _message in MISFITS]


def _fitting(audience: str) -> dict:
    """What the audience itself needs (a segment audience names its segment)."""
    return {"audience_segment": "SMB"} if audience == "segment" else {}


def test_a_stored_sample_of_a_segment_is_drawn_from_that_segment():
    CustomerFactory.create_batch(10, segment="SMB")
    CustomerFactory.create_batch(10, segment="ENT")
    survey = SurveyFactory(audience=AudienceKind.SAMPLE, audience_segment="ENT", sample_percent=Decimal("50"))

    launch = survey_launch(survey=survey)

    assert (launch.audience, launch.audience_segment, launch.audience_size) == ("sample", "ENT", 5)
    assert {i.customer.segment for i in launch.invitations.all()} == {"ENT"}


@pytest.mark.parametrize(("audience", "field", "value", "message"), MISFITS, ids=MISFIT_IDS)
def test_the_form_refuses_an_audience_field_the_audience_does_not_take(client_as, audience, field, value, message):
    data = {"name": "Misfit", "kind": "relationship", "status": "draft", "question": "Q", "expiry_days": 30,
            "throttle_days": 90, "audience": audience, **_fitting(audience), field: value}

    response = client_as("analyst").post(reverse("surveys:survey-create"), data)

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Survey.objects.filter(name="Misfit").exists()


@pytest.mark.parametrize(
    ("audience", "field", "value", "message"),
    [
        ("all", "audience_segment", "ENT", "Only a segment audience or a sample names a segment."),
        ("list", "audience_segment", "ENT", "Only a segment audience or a sample names a segment."),
        ("segment", "sample_percent", "10.00", "Only a sample audience takes a percentage."),
        ("list", "repeat_days", 7, "A hand-picked list is invited through the API, not relaunched."),
    ],
    ids=["segment-on-all", "segment-on-list", "percent-on-segment", "repeat-on-list"],
)
def test_the_api_refuses_an_audience_field_the_audience_does_not_take(api_client_as, audience, field, value,
                                                                      message):
    body = {"name": "Misfit", "audience": audience, **_fitting(audience), field: value}

    response = api_client_as("analyst").post(reverse("api-survey-list"), body, format="json")

    assert response.status_code == 400, response.content
    assert message in str(response.json())
    assert not Survey.objects.filter(name="Misfit").exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"audience": AudienceKind.ALL, "audience_segment": "ENT"},
        {"audience": AudienceKind.SEGMENT, "audience_segment": "ENT", "sample_percent": Decimal("10")},
        {"audience": AudienceKind.LIST, "repeat_days": 7},
    ],
    ids=["segment-on-all", "percent-on-segment", "repeat-on-list"],
)
def test_the_database_refuses_an_audience_field_the_audience_does_not_take(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(name="Misfit", **fields)
