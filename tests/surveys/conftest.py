import pytest
from django.core.cache import cache


@pytest.fixture
def fresh_rate_limits(settings):
    """The public token pages with a budget no test reaches by accident, and counters at zero."""
    settings.SURVEY_PUBLIC_RATE = "1000/m"
    cache.clear()
    yield
    cache.clear()
