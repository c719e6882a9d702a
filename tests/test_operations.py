"""Running it for real: strict settings, a hung broker, log levels and gunicorn's own log in JSON.
Regressions found by an audit of operations."""

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from cxplatform.environment import StrictEnv

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "READ_DOTENV": "0", "DEBUG": "0", "CX_TESTING": "0", "SECRET_KEY": "operations-test-" + "x" * 50,
    "ALLOWED_HOSTS": "cx.example.com", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/8",
    "REDIS_URL": "redis://127.0.0.1:6379/9", "DATABASE_URL": "sqlite:///:memory:",
}


def strict(**values) -> StrictEnv:
    env = StrictEnv()
    env.ENVIRON = values
    return env


# --- settings: a bad value stops the start, naming its variable ------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("On", True), ("true", True),
                                               ("0", False), ("no", False), ("off", False), ("False", False)])
def test_a_boolean_in_a_usual_spelling_is_read(raw, expected):
    assert strict(EMAIL_USE_TLS=raw).bool("EMAIL_USE_TLS", default=False) is expected


def test_an_unknown_boolean_is_refused_not_read_as_off():
    """EMAIL_USE_TLS=enabled was False: the SMTP password went out in clear."""
    with pytest.raises(ImproperlyConfigured, match="EMAIL_USE_TLS must be true or false"):
        strict(EMAIL_USE_TLS="enabled").bool("EMAIL_USE_TLS", default=False)
    assert strict().bool("EMAIL_USE_TLS", default=False) is False  # unset: the default


def test_numbers_urls_and_choices_are_refused_by_name():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number, not 'smtp'"):
        strict(EMAIL_PORT="smtp").int("EMAIL_PORT", default=25)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must be a postgres:// or sqlite:/// URL"):
        strict(DATABASE_URL="127.0.0.1:5432/cx").db("DATABASE_URL")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL must be a URL starting with redis://"):
        strict(REDIS_URL="127.0.0.1:6379/1").url_of("REDIS_URL", schemes=("redis", "rediss"))
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be one of plain, json"):
        strict(LOG_FORMAT="xml").choice("LOG_FORMAT", choices=("plain", "json"), default="plain")
    with pytest.raises(ImproperlyConfigured, match="LOG_LEVEL must be a log level"):
        strict(LOG_LEVEL="LOUD").log_level("LOG_LEVEL", default="INFO")
    assert strict(REDIS_URL="").url_of("REDIS_URL", schemes=("redis",)) == ""


@pytest.mark.parametrize("url", ["postgres://cx@127.0.0.1:abc/cx", "postgres://cx@127.0.0.1:99999/cx"])
def test_a_database_url_whose_port_does_not_parse_is_refused_by_name(url):
    """django-environ raised a bare "Port could not be cast to integer value", naming no variable."""
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL has a port that is not a number"):
        strict(DATABASE_URL=url).db("DATABASE_URL")


def test_a_postgres_failover_list_of_hosts_is_read_and_each_port_checked():
    config = strict(DATABASE_URL="postgres://cx@db1:5432,db2:5432/cx").db("DATABASE_URL")
    assert (config["HOST"], config["PORT"]) == ("db1,db2", "5432,5432")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL has a port that is not a number"):
        strict(DATABASE_URL="postgres://cx@db1:5432,db2:54x2/cx").db("DATABASE_URL")


def test_a_redis_url_whose_port_does_not_parse_is_refused_by_name():
    """Only the scheme was checked: the start passed, then every login and token page answered 500
    (redis-py's ValueError, which the rate limits' fail-open for RedisError lets through)."""
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL has a port that is not a number"):
        strict(REDIS_URL="redis://127.0.0.1:abc/1").url_of("REDIS_URL", schemes=("redis",))
    assert strict(REDIS_URL="redis://127.0.0.1:6379/1").url_of("REDIS_URL", schemes=("redis",))


@pytest.mark.parametrize(
    "variable, value, schemes",
    [
        ("DATABASE_URL", "postgres://cx:TopSecretDbPw@db.internal:54x2/cx", None),
        ("DATABASE_URL", "postgress://cx:TopSecretDbPw@db.internal:5432/cx", None),
        ("CELERY_BROKER_URL", "redis://:TopSecretDbPw@redis.internal:63799999/0", ("redis",)),
        ("REDIS_URL", "http://:TopSecretDbPw@redis.internal:6379/1", ("redis",)),
        ("DATABASE_URL", "cx:TopSecretDbPw@db.internal:5432/cx", None),
    ],
)
def test_a_mistyped_url_is_refused_without_quoting_its_password(variable, value, schemes):
    """Start-up errors go to every failing process's log (journald, a log collector)."""
    env = strict(**{variable: value})
    with pytest.raises(ImproperlyConfigured, match=variable) as refused:
        env.db(variable) if schemes is None else env.url_of(variable, schemes=schemes)
    assert "TopSecretDbPw" not in str(refused.value)
    assert ":**@" in str(refused.value)


@pytest.mark.parametrize(
    "variable, value, schemes",
    [
        ("DATABASE_URL", "postgres://cx:Top/SecretDbPw@db.internal:5432/cx", None),
        ("DATABASE_URL", "postgres://cx:Top#SecretDbPw@db.internal:5432/cx", None),
        ("DATABASE_URL", "postgres://cx:1234/SecretDbPw@db.internal:5432/cx", None),
        ("DATABASE_URL", "postgres://cx:Top@Secret/DbPw@db1:5432,db2:5432/cx", None),
        ("CELERY_BROKER_URL", "redis://:Top?SecretDbPw@redis.internal:6379/0", ("redis",)),
        ("REDIS_URL", "redis://:Top/SecretDbPw@redis.internal:6379/1", ("redis",)),
    ],
)
def test_a_password_with_a_url_delimiter_is_refused_as_such_without_quoting_it(variable, value, schemes):
    """A generated password pasted as is: the error was "a port that is not a number" quoting the
    password after its '/', '#' or '?' (or, with digits before it, no error and the user as host)."""
    env = strict(**{variable: value})
    with pytest.raises(ImproperlyConfigured, match=f"{variable} has a .* in its password") as refused:
        env.db(variable) if schemes is None else env.url_of(variable, schemes=schemes)
    assert "must be percent-encoded (/ as %2F, # as %23, ? as %3F" in str(refused.value)
    assert "Secret" not in str(refused.value) and ":**@" in str(refused.value)


@pytest.mark.parametrize(
    "value",
    ["postgres://cx:Top%2FSecret%23DbPw@db.internal:5432/cx", "postgres://cx@db.internal:5432/cx",
     "sqlite:////srv/cx@2/db.sqlite3"],
)
def test_a_password_percent_encoded_and_an_at_in_a_sqlite_path_are_read(value):
    assert strict(DATABASE_URL=value).db("DATABASE_URL")["NAME"]


@pytest.mark.parametrize("value", ["0123456789abcdef", "bounces:", ":s3cret"])
def test_a_webhook_secret_that_is_not_user_password_is_refused_by_name(value):
    """A provider always sends both parts over HTTP Basic: any other value would be taken and then
    refuse every bounce and complaint, silently."""
    with pytest.raises(ImproperlyConfigured, match="ANYMAIL_WEBHOOK_SECRET must be user:password") as refused:
        strict(ANYMAIL_WEBHOOK_SECRET=value).user_password("ANYMAIL_WEBHOOK_SECRET")
    assert value.strip(":") not in str(refused.value)
    assert strict(ANYMAIL_WEBHOOK_SECRET="bounces:s3cret").user_password("ANYMAIL_WEBHOOK_SECRET") == "bounces:s3cret"
    assert strict(ANYMAIL_WEBHOOK_SECRET="").user_password("ANYMAIL_WEBHOOK_SECRET") == ""


@pytest.mark.parametrize("value", ["Acme, Inc. <cx@acme.example>", "a@acme.example, b@acme.example", "not an address"])
def test_a_sender_that_is_not_one_address_is_refused_by_name(value):
    with pytest.raises(ImproperlyConfigured, match="DEFAULT_FROM_EMAIL must be one email address"):
        strict(DEFAULT_FROM_EMAIL=value).address("DEFAULT_FROM_EMAIL", default="cx@example.com")


@pytest.mark.parametrize("value", ['"Acme, Inc." <cx@acme.example>', "cx@acme.example", "Acme <cx@acme.example>"])
def test_one_address_with_or_without_a_name_is_a_sender(value):
    assert strict(DEFAULT_FROM_EMAIL=value).address("DEFAULT_FROM_EMAIL", default="") == value


def test_the_default_sender_quotes_a_company_name_holding_a_comma():
    """It was f"{COMPANY_NAME} <cx@example.com>" unquoted: with "Acme, Inc." two addresses, which
    Django's SMTP backend refuses ("only Acme could be parsed"), and survey emails went from <@acme>."""
    code = (
        "import django; django.setup(); from email.utils import parseaddr; from django.conf import settings; "
        "from surveys.models import Survey; print(settings.DEFAULT_FROM_EMAIL); print(Survey().from_email)"
    )
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT)), **PRODUCTION,
           "DJANGO_SETTINGS_MODULE": "cxplatform.settings", "COMPANY_NAME": "Acme, Inc."}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == ['"Acme, Inc." <cx@example.com>', '"Acme, Inc." <cx@example.com>']


def check(**extra) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT)), **PRODUCTION, **extra}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=120)


@pytest.mark.parametrize(("name", "value"), [("SITE_URL", "cx.example.com"), ("CELERY_BROKER_URL", "127.0.0.1:6379/0")])
def test_the_settings_module_refuses_a_url_without_its_scheme(name, value):
    """A SITE_URL without http(s):// made every emailed link broken, and passed `check --deploy`."""
    result = check(**{name: value})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith(f"django.core.exceptions.ImproperlyConfigured: {name}")


@pytest.mark.parametrize("raw", ["10/m", "60/m", "100/5m", "5/s", "1000/h", "10/d", " 10/m "])
def test_a_rate_in_django_ratelimits_spelling_is_read(raw):
    from django_ratelimit.core import _split_rate

    value = strict(LOGIN_RATE=raw).rate("LOGIN_RATE", default="10/m")
    count, seconds = _split_rate(value)
    assert count > 0 and seconds > 0
    assert strict().rate("LOGIN_RATE", default="10/m") == "10/m"  # unset: the default


@pytest.mark.parametrize("raw", ["ten per minute", "abc", "sixty/m", "", "10", "10/", "10/M", "10/5",
                                 "10/minute", "10 / m", "0/m", "10/0m"])
def test_a_rate_that_does_not_parse_is_refused_by_name(raw):
    """LOGIN_RATE and SURVEY_PUBLIC_RATE were read unchecked: "abc" started, then every login or token
    page was a 500; "10/M" and "10/5" silently meant per second, "10/minute" per minute by luck."""
    with pytest.raises(ImproperlyConfigured, match="SURVEY_PUBLIC_RATE must be a rate as count/period"):
        strict(SURVEY_PUBLIC_RATE=raw).rate("SURVEY_PUBLIC_RATE", default="60/m")


@pytest.mark.parametrize(("name", "value"), [("LOGIN_RATE", "ten per minute"), ("LOGIN_RATE", "abc"),
                                             ("SURVEY_PUBLIC_RATE", "x"), ("SURVEY_PUBLIC_RATE", "sixty/m")])
def test_the_settings_module_refuses_a_rate_that_does_not_parse(name, value):
    result = check(**{name: value})
    assert result.returncode != 0, f"{name}={value!r} passed `manage.py check`"
    assert result.stderr.strip().splitlines()[-1].startswith(f"django.core.exceptions.ImproperlyConfigured: {name}")


def test_the_settings_module_reads_a_valid_rate():
    assert check(LOGIN_RATE="100/5m", SURVEY_PUBLIC_RATE="60/m").returncode == 0


@pytest.mark.parametrize("value", ["django.core.mail.backends.smtp.EmailBackendd", "django.core.mail.backends.smtp",
                                   "anymail.backends.postmarkk.EmailBackend", "EmailBackend"])
def test_an_email_backend_that_does_not_import_is_refused_by_name(value):
    with pytest.raises(ImproperlyConfigured, match="EMAIL_BACKEND must be the dotted path of an email backend class"):
        strict(EMAIL_BACKEND=value).email_backend("EMAIL_BACKEND", default="")


@pytest.mark.parametrize("value", ["anymail.backends.postmark.EmailBackend",
                                   "django.core.mail.backends.console.EmailBackend"])
def test_an_email_backend_that_imports_is_read(value):
    assert strict(EMAIL_BACKEND=value).email_backend("EMAIL_BACKEND", default="") == value


def test_the_settings_module_refuses_a_mistyped_email_backend():
    """EMAIL_BACKEND=...smtp.EmailBackendd passed `check --deploy` and gunicorn, the worker and beat
    started; each sending task then died with an ImportError and the survey showed "Sending" for ever."""
    result = check(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackendd")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: EMAIL_BACKEND")


def test_an_email_backend_importing_this_projects_models_still_starts(tmp_path):
    """Settings import the backend before the apps are loaded: one that needs them is left unchecked."""
    (tmp_path / "project_mail.py").write_text(
        "from surveys.models import Survey  # noqa: F401\nfrom django.core.mail.backends.locmem import EmailBackend\n"
    )
    result = check(EMAIL_BACKEND="project_mail.EmailBackend", PYTHONPATH=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]


# --- a broker that accepts connections and never answers -------------------------------------------


@pytest.fixture
def silent_broker():
    """A hung Redis: the kernel accepts connections, nothing ever answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/8"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


HEALTHZ_AND_ENQUEUE = """
import django, json, os, time
os.environ["DJANGO_SETTINGS_MODULE"] = "cxplatform.settings"
django.setup()
from django.test import Client
from surveys.tasks import enqueue_senders
start = time.monotonic()
health = Client().get("/healthz")
health_seconds = time.monotonic() - start
start = time.monotonic()
try:
    enqueue_senders()
except Exception:
    pass
print(json.dumps({"status": health.status_code, "body": health.json(), "health_seconds": health_seconds,
                  "enqueue_seconds": time.monotonic() - start}))
"""


def test_a_hung_broker_fails_healthz_and_a_publish_within_seconds(silent_broker):
    """They blocked in redis-py's read until gunicorn killed the worker (30 s, then a 500): a load
    balancer took every web process out, and a launch answered 500 after its rows were committed."""
    env = {**os.environ, "READ_DOTENV": "0", "DEBUG": "1", "CX_TESTING": "1", "CELERY_BROKER_URL": silent_broker,
           "DATABASE_URL": "sqlite:///:memory:", "LOG_LEVEL": "ERROR"}
    done = subprocess.run([sys.executable, "-c", HEALTHZ_AND_ENQUEUE], cwd=ROOT, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=60)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 200 and outcome["body"]["status"] == "degraded"
    assert outcome["health_seconds"] < 10 and outcome["enqueue_seconds"] < 10


# --- logs -----------------------------------------------------------------------------------------


def test_the_celery_loglevel_flag_sets_the_level(settings):
    """Celery's `--loglevel` reached nothing: Django's LOGGING replaced its setup at INFO."""
    from logging.config import dictConfig

    from cxplatform.celery import use_django_logging

    try:
        use_django_logging(loglevel=logging.WARNING)
        assert logging.getLogger().level == logging.WARNING
    finally:
        dictConfig(settings.LOGGING)


def test_gunicorns_own_log_is_json_with_log_format_json(monkeypatch):
    from gunicorn.config import Config

    from cxplatform.log_redaction import GunicornLogger

    monkeypatch.setenv("LOG_FORMAT", "json")
    logger = GunicornLogger(Config())
    stream = io.StringIO()
    for handler in logger.error_log.handlers:
        handler.setStream(stream)
    logger.error_log.info("Booting worker with pid: %s", 42)
    logger.error_log.critical("WORKER TIMEOUT on GET /s/abcdefghijklmnop/")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "CRITICAL"]
    assert lines[1]["message"] == "WORKER TIMEOUT on GET /s/[token]/"


@pytest.mark.parametrize("raw", ["y", "t", "n", "f", "enabled"])
def test_only_the_documented_boolean_spellings_are_read(raw):
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        strict(DEBUG=raw).bool("DEBUG", default=False)


def test_a_bad_gunicorn_timeout_stops_the_start_naming_its_variable(monkeypatch):
    import runpy

    monkeypatch.setenv("GUNICORN_TIMEOUT", "abc")
    with pytest.raises(SystemExit, match="GUNICORN_TIMEOUT must be a whole number of seconds"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    monkeypatch.setenv("GUNICORN_TIMEOUT", "600")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["timeout"] == 600


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("DATABASE_URL", "postgres://cx:secret@db:5432/cx?application_name=cx@prod"),
        ("REDIS_URL", "redis://cache:6379/0?client_name=cx@worker"),
    ],
)
def test_an_at_sign_in_a_query_value_is_no_password_error(variable, url):
    """An '@' after the host part but in the query was read as a password cut short: a well-formed
    URL stopped the start, told to percent-encode its password."""
    env = strict(**{variable: url})
    if variable == "DATABASE_URL":
        assert env.db(variable)["HOST"] == "db"
    else:
        assert env.url_of(variable, schemes=("redis",)) == url


# --- start-up errors never quote a password -----------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        # No ':' so no telling user from password, but a '/' shows it is a pasted password.
        ("REDIS_URL", "redis://Top/SecretPw@redis.internal:6379/1", "SecretPw"),
        # A password holding both a '/' and an '@': the last '@' ends it.
        ("DATABASE_URL", "postgres://cx:Top/Sec@retPw@db.internal:5432/cx", "retPw"),
    ],
)
def test_a_refused_url_never_quotes_any_part_of_its_password(variable, value, secret):
    """Start-up errors go to every failing process's log: no piece of a password may be in one."""
    env = strict(**{variable: value})
    with pytest.raises(ImproperlyConfigured, match=f"{variable} has a .* in its password") as refused:
        env.db(variable) if variable == "DATABASE_URL" else env.url_of(variable, schemes=("redis",))
    assert secret not in str(refused.value)
    assert "**@" in str(refused.value)


# --- system checks ------------------------------------------------------------------------------


def test_manage_check_refuses_eager_celery_when_debug_is_off():
    """With DEBUG off and no CELERY_BROKER_URL every task would run inside the web request: the
    start-up check (cxplatform.E001) stops it instead of letting production run eagerly."""
    result = check(CELERY_BROKER_URL="")

    assert result.returncode != 0, result.stdout + result.stderr
    assert "cxplatform.E001" in result.stdout + result.stderr
    assert "CELERY_BROKER_URL is not set while DEBUG is off" in result.stdout + result.stderr


def test_eager_celery_is_fine_for_the_demo_with_debug_on():
    """The embedded demo (DEBUG on, no broker) passes the same check."""
    result = check(CELERY_BROKER_URL="", DEBUG="1")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "cxplatform.E001" not in result.stdout + result.stderr
