"""Boolean filters of the API take true/false (1/0, yes/no) and refuse anything else with a 400:
a misspelt value must not answer 200 with the whole, unfiltered list."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounting.models import ReasonCategory
from tests.factories import ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def followed_and_not():
    followed = ResponseFactory(followed_up_at=timezone.now())
    return followed, ResponseFactory()


@pytest.mark.parametrize(("value", "expected"), [("true", "followed"), ("yes", "followed"), ("1", "followed"),
                                                 ("True", "followed"), ("FALSE", "open"),  # Python clients
                                                 ("false", "open"), ("no", "open"), ("0", "open")])
def test_followed_up_filters_on_each_spelling_of_true_and_false(api_client_as, followed_and_not, value, expected):
    followed, still_open = followed_and_not

    response = api_client_as("analyst").get(reverse("api-response-list"), {"followed_up": value})

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert ids == [followed.pk if expected == "followed" else still_open.pk]


@pytest.mark.parametrize(("url", "param"), [
    ("api-response-list", "followed_up"),
    ("api-survey-list", "anonymous"),
    ("api-survey-list", "imported"),
    ("api-reason-category-list", "is_active"),
])
def test_any_other_value_is_a_400_naming_the_parameter(api_client_as, url, param):
    SurveyFactory()

    response = api_client_as("analyst").get(reverse(url), {param: "maybe"})

    assert response.status_code == 400
    assert param in response.json()


def test_inactive_reason_categories_are_found_by_is_active_no(api_client_as):
    ReasonCategory.objects.filter(slug="advertising").update(is_active=False)

    response = api_client_as("analyst").get(reverse("api-reason-category-list"), {"is_active": "no"})

    assert [row["slug"] for row in response.json()["results"]] == ["advertising"]
