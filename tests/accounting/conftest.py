"""Fixtures shared by the accounting tests."""

import pytest

from tests.factories import reason


@pytest.fixture
def retired(db):
    """A default category deactivated since some customers were given it."""
    category = reason("advertising")
    category.is_active = False
    category.save(update_fields=["is_active"])
    return category
