"""Personas for every test: an admin, an analyst, a viewer, and anonymous customers."""

import contextlib
import os
import time

import factory.random
import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

ROLES = ("admin", "analyst", "viewer")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 costs ~0.1 s a hash by design; tests make and check passwords by the hundred.
    (tests/test_deploy_settings.py checks that production settings still hash with Argon2.)"""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def seeded_factories(request):
    """Faker's draws (customers' names) come from a seed of the test's own id, so a test that fails
    on some name fails on every run (a long random name made an accessibility check red in some
    CI runs only). CX_TEST_SEED=<anything> draws other names for every test, to look for such tests
    on purpose. Factory sequences (ids, emails) still count on across the tests run."""
    factory.random.reseed_random(os.environ.get("CX_TEST_SEED", "") + request.node.nodeid)


@pytest.fixture
def fresh_rate_limits(settings):
    """The public token pages with a budget no test reaches by accident, counters at zero, and the
    clock stopped: a budget is counted per minute window, and a test that crossed a window's end
    would see its counter restart (a 200 where it expected the 429)."""
    settings.SURVEY_PUBLIC_RATE = "1000/m"
    cache.clear()
    with time_machine.travel(time.time(), tick=False):
        yield
    cache.clear()


@pytest.fixture
def admin(db):
    return UserFactory(username="alice", role="admin")


@pytest.fixture
def analyst(db):
    return UserFactory(username="bob", role="analyst")


@pytest.fixture
def viewer(db):
    return UserFactory(username="charlie", role="viewer")


@pytest.fixture
def user_with_role(db):
    """`user_with_role("analyst")`; `None` gives anonymous."""

    def make(role):
        return UserFactory(role=role) if role else None

    return make


@pytest.fixture
def client_as(client, user_with_role):
    """A Django test client logged in with the given role (or anonymous for None)."""

    def make(role):
        user = user_with_role(role)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api_client_as(user_with_role):
    """A DRF client authenticated by a real knox token for the given role (None: anonymous)."""
    from knox.models import AuthToken

    def make(role):
        api = APIClient()
        user = user_with_role(role)
        if user is not None:
            _, token = AuthToken.objects.create(user)
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return api

    return make


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Each test starts with an empty cache: counters (login, token pages) and the senders' marks
    (a retry pending, a heartbeat) would otherwise carry over from an earlier test, or run. And with
    the cache asked again: a test of a cache outage leaves the rate limits pausing it for seconds."""
    from cxplatform.ratelimits import CACHE_OUTAGE

    CACHE_OUTAGE.end()
    with contextlib.suppress(Exception):  # a test of a cache outage may have pointed it nowhere
        cache.clear()


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Unit tests run tasks inline; integration tests start a real worker on Redis instead."""
    from cxplatform.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def eager_retries():
    """Eager Celery runs a task's retries inline only when it does not propagate their errors."""
    from cxplatform.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


@pytest.fixture
def empty_cache():
    """Rate-limit counters start at zero: the cache keeps them across tests (login attempts, the
    public pages' budget)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
