"""manage.py send_reason_requests --days N: a window too long for a date is refused with a message."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_refuses_a_window_past_a_century_instead_of_overflowing():
    # `--days 1000000` crashed with "OverflowError: date value out of range" and a traceback.
    with pytest.raises(CommandError, match="at most 36500"):
        call_command("send_reason_requests", "--days", "1000000", stdout=StringIO())


def test_a_century_is_still_accepted():
    out = StringIO()
    call_command("send_reason_requests", "--days", "36500", stdout=out)
    assert "Asked 0 new customers" in out.getvalue()
