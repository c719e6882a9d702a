"""The stale notice of the earned-growth dashboard says who can recompute: a viewer has no button."""

import datetime as dt

import pytest
import time_machine

from tests.factories import CustomerFactory, pay, reason

pytestmark = pytest.mark.django_db

URL = "/reports/earned-growth/"
RECOMPUTE_URL = "/reports/earned-growth/recompute/"
TODAY = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def stale_page(client, django_capture_on_commit_callbacks):
    """The dashboard as `role` sees it once revenue was imported after its snapshots were computed."""

    def get(user) -> str:
        customer = CustomerFactory(acquired_on=dt.date(2025, 1, 15), reason=reason("recommendation"))
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            client.get(URL)  # day one, empty ledger: the page view computes the snapshots
        pay(customer, "2026-04-20", "120.00")  # then the first revenue import
        pay(customer, "2026-07-20", "120.00")
        return client.get(URL).content.decode()

    return get


@time_machine.travel(TODAY, tick=False)
def test_it_tells_a_viewer_who_can_recompute_a_stale_dashboard(stale_page, viewer):
    page = stale_page(viewer)

    assert "recompute to update them" not in page  # told to do what they cannot
    assert RECOMPUTE_URL not in page  # a viewer has no Recompute button, and eager mode no nightly run
    assert "changed since: an analyst or admin can recompute them." in page


@time_machine.travel(TODAY, tick=False)
def test_it_gives_an_analyst_the_button_without_pointing_elsewhere(stale_page, analyst):
    page = stale_page(analyst)

    assert "recompute to update them" in page
    assert RECOMPUTE_URL in page
    assert "an analyst or admin can" not in page
