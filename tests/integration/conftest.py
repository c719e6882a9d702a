"""A real Celery worker process on Redis, sharing the PostgreSQL test database.

Skipped unless CELERY_BROKER_URL is set and the database is PostgreSQL (CI sets both). Tests
using the worker must commit their data (`transactional_db`) so the worker process sees it.
"""

import os
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _needs_real_services():
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("integration test: set CELERY_BROKER_URL (Redis) to run it")
    if connection.vendor != "postgresql":
        pytest.skip("integration test: needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def celery_worker_process(transactional_db, mail_dir, settings):
    """Start `celery worker` on the test database; stop it afterwards. Yields the Popen."""
    _needs_real_services()
    _reseed_defaults()
    from cxplatform.celery import app

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "CX_TESTING": "1",
    }
    app.control.purge()
    log = open(mail_dir.parent / "worker.log", "w")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "cxplatform", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_ready(app, worker, mail_dir.parent / "worker.log")
        app.conf.task_always_eager = False
        yield worker
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def _reseed_defaults():
    """A transactional test's teardown truncates every table, seeded rows included: put them back."""
    from django.apps import apps

    from cxplatform.roles import sync_roles

    import_module("accounting.migrations.0002_default_reason_categories").seed(apps, None)
    sync_roles()


def _wait_until_ready(app, worker, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker exited: {log_path.read_text()[-2000:]}")
        if "ready." in log_path.read_text():
            return
        time.sleep(0.3)
    raise RuntimeError(f"celery worker not ready after {timeout}s: {log_path.read_text()[-2000:]}")


def wait_for(predicate, timeout=30, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


__all__ = ["wait_for", "settings"]
