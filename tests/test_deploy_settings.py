"""Production settings: `manage.py check --deploy` is clean, cookies and headers are secure."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DEBUG": "0", "CX_TESTING": "0", "SECRET_KEY": "x" * 30 + "-production-secret-" + "y" * 30,
    "ALLOWED_HOSTS": "cx.example.com", "CSRF_TRUSTED_ORIGINS": "https://cx.example.com",
    "SITE_URL": "https://cx.example.com",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "REDIS_URL": "redis://127.0.0.1:6379/1",
    "DATABASE_URL": "sqlite:///:memory:",
}


def _run(code: str, **extra) -> subprocess.CompletedProcess:
    # Not the test run's own switches (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE).
    dropped = ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(PRODUCTION, **extra)
    command = [sys.executable, *code.split()] if code.startswith("manage.py") else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603


def test_check_deploy_is_clean_with_production_settings():
    result = _run("manage.py check --deploy --fail-level WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_rate_limits_are_not_shared():
    result = _run("manage.py check --deploy --fail-level WARNING", REDIS_URL="")
    assert result.returncode != 0
    assert "cxplatform.W002" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "site_url",
    [
        "",  # unset: the default, http://127.0.0.1:8000, which no customer can open
        "https://cx.example.org",  # a host this installation does not serve (refused with a 400)
        "http://cx.example.com",  # the token in clear before the redirect to HTTPS
    ],
)
def test_check_deploy_warns_when_emailed_links_would_not_open_here(site_url):
    """Every link in the customers' emails starts with SITE_URL: set ALLOWED_HOSTS and not it, and
    each survey sent links to http://127.0.0.1:8000 while `check --deploy` said nothing."""
    result = _run("manage.py check --deploy --fail-level WARNING", SITE_URL=site_url)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "cxplatform.W003" in result.stdout + result.stderr


def test_check_deploy_accepts_a_site_url_that_allowed_hosts_matches():
    result = _run(
        "manage.py check --deploy --fail-level WARNING",
        ALLOWED_HOSTS=".example.com", SITE_URL="https://cx.example.com:8443/",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _run("manage.py check", SECRET_KEY="")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_cookies_and_headers_are_secure():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cxplatform.settings'; django.setup(); "
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0, s.X_FRAME_OPTIONS, s.SECURE_CONTENT_TYPE_NOSNIFF, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = _run(code)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "DENY", "True", "False"], result.stderr


def test_production_hashes_passwords_with_argon2():
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cxplatform.settings'; django.setup(); "
        "from django.contrib.auth.hashers import make_password; print(make_password('correct horse').split('$')[0])"
    )
    result = _run(code)
    assert result.stdout.strip() == "argon2", result.stderr


HEALTHZ_OVER_PLAIN_HTTP = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'cxplatform.settings'; django.setup(); "
    "from django.test import Client; r = Client().get('/healthz', HTTP_HOST='cx.example.com'); "
    "print(r.status_code, r.get('Location', ''))"
)


@pytest.mark.parametrize(
    "database, status",
    [("sqlite:///:memory:", "200"), ("postgres://postgres@127.0.0.1:1/cx_gone", "503")],
)
def test_healthz_answers_a_plain_http_probe_without_redirecting_it(database, status):
    """A load balancer's health check reaches gunicorn directly over plain HTTP; the SSL redirect's
    301 would read as healthy whatever the database's state."""
    result = _run(HEALTHZ_OVER_PLAIN_HTTP, DATABASE_URL=database)
    assert result.stdout.split()[:1] == [status], result.stdout + result.stderr


@pytest.fixture
def gunicorn_trusting_another_proxy():
    """gunicorn as the Procfile starts it, FORWARDED_ALLOW_IPS naming a proxy that is not the client."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SECRET_KEY")}
    env.update(PRODUCTION, READ_DOTENV="0")
    process = subprocess.Popen(  # noqa: S603
        [Path(sys.executable).with_name("gunicorn"), "cxplatform.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--forwarded-allow-ips", "10.9.9.9"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_x_forwarded_proto_is_believed_only_from_the_trusted_proxies(gunicorn_trusting_another_proxy):
    """A client that is not the proxy says `X-Forwarded-Proto: https` over plain HTTP: still redirected."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(  # noqa: S310 - http:// to the gunicorn just started
        gunicorn_trusting_another_proxy + "/accounts/login/",
        headers={"Host": "cx.example.com", "X-Forwarded-Proto": "https"},
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert answer.value.code == 301
    assert answer.value.headers["Location"].startswith("https://")
