"""The API's `?search=` has the admin's and the staff search boxes' cap.

DRF's SearchFilter ANDs one OR-group per word: a pasted paragraph of 1,000 words (a 2 KB query
string) exceeded SQLite's expression depth (a 500), and `/api/invitations/` spent about a minute of
a web worker planning it on PostgreSQL, over a table of one row.
"""

import pytest

from cxplatform.admin_guards import SEARCH_REFUSED
from tests.factories import InvitationFactory, ResponseFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/customers/", "/api/invitations/", "/api/responses/", "/api/surveys/"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_pasted_paragraph_is_a_400_keyed_search(api_client_as, path):
    api = api_client_as("analyst")
    api.raise_request_exception = False
    ResponseFactory(invitation=InvitationFactory())

    response = api.get(path, {"search": " ".join(["a"] * 1000)})

    assert response.status_code == 400, (response.status_code, response.content[:200])
    assert response.json() == {"search": [SEARCH_REFUSED]}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_search_of_ten_words_still_runs(api_client_as, path):
    api = api_client_as("analyst")
    assert api.get(path, {"search": " ".join(["a"] * 10)}).status_code == 200


@pytest.mark.parametrize("path", ENDPOINTS)
def test_words_are_counted_as_drf_splits_them_on_commas_too(api_client_as, path):
    """100 comma-separated terms in 199 characters were one word to the cap, 100 OR-groups to DRF."""
    api = api_client_as("analyst")

    response = api.get(path, {"search": ",".join(["a"] * 100)})

    assert response.status_code == 400
    assert response.json() == {"search": [SEARCH_REFUSED]}
    assert api.get(path, {"search": ",".join(["a"] * 10)}).status_code == 200
