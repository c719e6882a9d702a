"""`/api/schema/`'s errors read {"detail": "..."} in its default YAML too (README "REST API": every
error other than a 400), as `curl` or a client generator fetching the documented URL gets them.

drf-spectacular's YAML renderer dumps DRF's ErrorDetail as a mapping of `string` and `code`. The
schema needs a login of any role (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]), so it has no 403."""

import pytest
import yaml

pytestmark = pytest.mark.django_db

URL = "/api/schema/"


def _yaml(response):
    assert response["Content-Type"].startswith("application/vnd.oai.openapi"), response["Content-Type"]
    return yaml.safe_load(response.content)


def test_it_answers_a_client_without_credentials_with_a_detail_string(api_client_as):
    response = api_client_as(None).get(URL)

    assert response.status_code == 401
    assert _yaml(response) == {"detail": "Authentication credentials were not provided."}


def test_it_answers_a_bad_token_with_a_detail_string(api_client_as):
    client = api_client_as(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get(URL)

    assert response.status_code == 401
    assert _yaml(response) == {"detail": "Invalid token."}


def test_it_answers_a_method_it_does_not_take_with_a_detail_string(api_client_as):
    response = api_client_as("viewer").post(URL)

    assert response.status_code == 405
    assert _yaml(response) == {"detail": 'Method "POST" not allowed.'}


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_it_serves_the_schema_to_every_role(api_client_as, role):
    response = api_client_as(role).get(URL)

    assert response.status_code == 200
    assert _yaml(response)["openapi"].startswith("3.")
