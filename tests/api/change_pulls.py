"""An integrator's incremental pull (`changed_after`), as the API's README recipe goes."""

import pytest


def pull_changed(api, url, cursor, on_page=None, **params):
    """Every row after `cursor`, page 1 asked again from the last row read until one is empty.
    `on_page(page)` runs once, after the first page: a change made while the pull goes on."""
    rows = []
    for _ in range(20):  # 120 rows: 3 pages, and one more for the changed row
        response = api.get(url, {"changed_after": cursor, **params})
        assert response.status_code == 200, response.content
        page = response.json()["results"]
        if not page:
            return rows
        rows += page
        cursor = f"{page[-1]['updated_at']},{page[-1]['id']}"
        if on_page:
            on_page(page)
            on_page = None
    pytest.fail("the pull never came to an empty page")
