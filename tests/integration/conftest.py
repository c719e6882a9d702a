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

    env = {
        **_worker_env(settings),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    app.control.purge()
    worker, log = _spawn_worker(env, mail_dir.parent / "worker.log")
    try:
        _wait_until_ready(app, worker, mail_dir.parent / "worker.log")
        app.conf.task_always_eager = False
        yield worker
    finally:
        app.conf.task_always_eager = True
        _stop_worker(worker, log)


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path, settings):
    """`start(**env)` starts one more worker (env: extra variables, e.g. EMAIL_HOST/EMAIL_PORT of an
    SMTP sink) and returns its Popen; every worker started is stopped afterwards."""
    _needs_real_services()
    _reseed_defaults()
    from cxplatform.celery import app

    started = []

    def start(**extra_env):
        log_path = tmp_path / f"worker{len(started)}.log"
        worker, log = _spawn_worker({**_worker_env(settings), **extra_env}, log_path)
        started.append((worker, log))
        _wait_until_ready(app, worker, log_path)
        app.conf.task_always_eager = False
        return worker

    app.control.purge()
    try:
        yield start
    finally:
        app.conf.task_always_eager = True
        for worker, log in started:
            _stop_worker(worker, log)


def _worker_env(settings):
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "CX_TESTING": "1"}


def _spawn_worker(env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed by _stop_worker
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "cxplatform", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle",
         "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    return worker, log


def _stop_worker(worker, log):
    if worker.poll() is None:
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
