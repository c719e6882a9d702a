"""Staff sessions and API tokens that expired are deleted by a daily beat task.

Django deletes a session row only at logout and knox an expired token only when its user presents
a token again: every session left to expire (a browser closed, a laptop replaced) and every token of
an integration that stopped calling stayed in the database for good, and nothing ran
`clearsessions`. The sweeper deletes expired sessions, and tokens expired for more than
EXPIRED_TOKENS_KEPT_DAYS (until then an integration coming back is still told "Token expired"
rather than "Invalid token."); live ones are never touched, and running it again deletes nothing more.
"""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from knox.models import AuthToken
from rest_framework.test import APIClient

from cxplatform.api_auth import TOKEN_EXPIRED
from cxplatform.celery import app
from cxplatform.tasks import EXPIRED_TOKENS_KEPT_DAYS, clear_expired_logins
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NAME = "Expired sessions and API tokens sweeper"
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
migration = importlib.import_module("cxplatform.migrations.0003_expired_logins_sweeper_schedule")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def session(*, expires_in: dt.timedelta) -> str:
    store = SessionStore()
    store["seen"] = True
    store.set_expiry(expires_in)
    store.create()
    return store.session_key


def token(user, *, expires_in: dt.timedelta | None) -> AuthToken:
    row, _ = AuthToken.objects.create(user, expiry=dt.timedelta(days=1))
    AuthToken.objects.filter(pk=row.pk).update(expiry=None if expires_in is None else timezone.now() + expires_in)
    return row


def test_expired_sessions_are_deleted_and_live_ones_kept(clock):
    gone = [session(expires_in=dt.timedelta(seconds=-1)), session(expires_in=dt.timedelta(days=-400))]
    live = session(expires_in=dt.timedelta(minutes=1))

    assert clear_expired_logins() == {"sessions": 2, "tokens": 0}

    assert set(Session.objects.values_list("session_key", flat=True)) == {live}
    assert not Session.objects.filter(session_key__in=gone).exists()


def test_tokens_long_expired_are_deleted_recent_and_live_ones_kept(clock):
    user = UserFactory(role="analyst")
    old = token(user, expires_in=-dt.timedelta(days=EXPIRED_TOKENS_KEPT_DAYS, seconds=1))
    recent = token(user, expires_in=-dt.timedelta(days=EXPIRED_TOKENS_KEPT_DAYS - 1))
    live = token(user, expires_in=dt.timedelta(days=89))
    forever = token(user, expires_in=None)

    assert clear_expired_logins() == {"sessions": 0, "tokens": 1}

    assert set(AuthToken.objects.values_list("pk", flat=True)) == {recent.pk, live.pk, forever.pk}
    assert not AuthToken.objects.filter(pk=old.pk).exists()


def test_a_recently_expired_token_is_still_told_expired_after_the_sweep(clock):
    user = UserFactory(role="analyst")
    row, key = AuthToken.objects.create(user, expiry=dt.timedelta(days=1))
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - dt.timedelta(days=1))

    clear_expired_logins()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/customers/")

    assert response.status_code == 401
    assert response.json() == {"detail": TOKEN_EXPIRED}


def test_a_logged_in_staff_member_stays_logged_in(clock, client):
    client.force_login(UserFactory(role="viewer"))
    session(expires_in=dt.timedelta(seconds=-1))

    clear_expired_logins()

    assert client.get(reverse("home")).status_code == 200
    assert Session.objects.count() == 1


def test_the_task_is_idempotent_and_safe_to_retry(clock):
    user = UserFactory(role="analyst")
    session(expires_in=dt.timedelta(seconds=-1))
    token(user, expires_in=-dt.timedelta(days=EXPIRED_TOKENS_KEPT_DAYS + 1))
    live = session(expires_in=dt.timedelta(days=1))

    assert clear_expired_logins.delay().get() == {"sessions": 1, "tokens": 1}
    assert clear_expired_logins.delay().get() == {"sessions": 0, "tokens": 0}
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]


def test_a_session_expiring_later_is_deleted_by_a_later_run(clock):
    later = session(expires_in=dt.timedelta(hours=2))

    assert clear_expired_logins() == {"sessions": 0, "tokens": 0}
    clock.shift(dt.timedelta(hours=3))
    assert clear_expired_logins() == {"sessions": 1, "tokens": 0}
    assert not Session.objects.filter(session_key=later).exists()


def test_the_migrations_schedule_it_daily():
    app.loader.import_default_modules()  # what a worker imports at start
    schedule = PeriodicTask.objects.select_related("interval").get(name=NAME)

    assert schedule.task == "cxplatform.tasks.clear_expired_logins" and schedule.task in app.tasks
    assert schedule.enabled and schedule.crontab is None
    assert (schedule.interval.every, schedule.interval.period) == (1, "days")


def test_the_migration_reverses_and_reapplies_without_duplicates():
    migration.remove_schedule(apps, None)
    assert not PeriodicTask.objects.filter(name=NAME).exists()

    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    assert PeriodicTask.objects.filter(name=NAME).count() == 1
