"""Migration surveys/0007 on rows an older form left behind: what a launch ignored is cleared, a
stored sample keeps its segment, and the constraints go on even when one row is cleared twice."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the deferred foreign-key checks are PostgreSQL's"),
]

ROWS = [  # name, audience, segment, percent, repeat_days
    ("all, segment and percent left", "all", "SMB", 10, None),
    ("list with a schedule and a segment", "list", "SMB", None, 7),
    ("segment with a percent left", "segment", "ENT", 25, None),
    ("sample of a segment", "sample", "SMB", 10, None),
]


def insert_as_0006_allowed(owner_id):
    now = timezone.now()
    with connection.cursor() as cursor:
        for name, audience, segment, percent, repeat_days in ROWS:
            cursor.execute(
                "INSERT INTO surveys_survey (name, kind, status, question, reason_prompt, improve_prompt, "
                "sender_name, sender_email, language, anonymous, expiry_days, throttle_days, audience, "
                "audience_segment, sample_percent, repeat_days, next_launch_at, owner_id, alert_webhook_url, "
                "imported, created_at, updated_at) VALUES (%s, 'relationship', 'draft', 'q', '', '', '', '', '', "
                "false, 30, 90, %s, %s, %s, %s, %s, %s, '', false, %s, %s)",
                [name, audience, segment, percent, repeat_days, now if repeat_days else None, owner_id, now, now],
            )


def test_the_migration_clears_what_a_launch_ignored_and_keeps_a_samples_segment():
    call_command("migrate", "surveys", "0006", verbosity=0)
    insert_as_0006_allowed(UserFactory().pk)  # an owner: its foreign-key check is what got queued

    call_command("migrate", verbosity=0)

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, audience_segment, sample_percent, repeat_days FROM surveys_survey ORDER BY name")
        rows = {name: (segment, percent, repeat_days) for name, segment, percent, repeat_days in cursor.fetchall()}
    assert rows == {
        "all, segment and percent left": ("", None, None),
        "list with a schedule and a segment": ("", None, None),
        "segment with a percent left": ("ENT", None, None),
        "sample of a segment": ("SMB", 10, None),
    }
