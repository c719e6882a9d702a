"""Embedded settings and run.py: behaviour a mutation audit found no test pinning.

Each test names the promise it keeps (SPEC §7, the README's `run.py demo` / `run.py serve`)."""

import hashlib
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import run

ROOT = Path(__file__).resolve().parents[1]
SHOW_SETTINGS = (
    "import cxplatform.settings as s; db = s.DATABASES['default']; "
    "print(db['ENGINE'], db['NAME'], s.CELERY_TASK_ALWAYS_EAGER, sep='|')"
)


def _python(*args, **env) -> subprocess.CompletedProcess:
    # Only what is given: not the test run's DATABASE_URL or CELERY_BROKER_URL, nor the checkout's .env.
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *args], cwd=ROOT, env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, timeout=120, check=False,
    )


# --- embedded defaults ------------------------------------------------------------------------


def test_with_nothing_set_the_database_is_the_projects_sqlite_file_and_celery_is_eager():
    """A fresh checkout runs with nothing but Python: DATABASE_URL unset means the SQLite file
    db.sqlite3 in the project, CELERY_BROKER_URL unset means eager tasks."""
    result = _python("-c", SHOW_SETTINGS, READ_DOTENV="0", DEBUG="1")

    assert result.returncode == 0, result.stderr
    engine, name, eager = result.stdout.strip().splitlines()[-1].split("|")
    assert engine == "django.db.backends.sqlite3"
    assert Path(name) == ROOT / "db.sqlite3"
    assert eager == "True"


SHOW_FALLBACKS = "import cxplatform.settings as s; print(*s.SECRET_KEY_FALLBACKS, sep='|')"
KEY1, KEY2 = "k1-" + "x" * 40, "k2-" + "y" * 40


def test_secret_key_fallbacks_are_read_from_the_environment():
    """The README's rotation: the old key in SECRET_KEY_FALLBACKS (Django never read it before)."""
    result = _python("-c", SHOW_FALLBACKS, READ_DOTENV="0", DEBUG="1", SECRET_KEY_FALLBACKS=f"{KEY1}, {KEY2}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{KEY1}|{KEY2}"


def test_an_empty_secret_key_fallback_is_refused_without_showing_the_keys():
    """A stray comma would make "" a key that signs sessions."""
    result = _python("-c", SHOW_FALLBACKS, READ_DOTENV="0", DEBUG="1", SECRET_KEY_FALLBACKS=f"{KEY1},")

    assert result.returncode != 0
    assert "SECRET_KEY_FALLBACKS must be comma-separated secrets" in result.stderr
    assert KEY1 not in result.stderr


# --- run.py -------------------------------------------------------------------------------------


def test_serve_defaults_to_postgresql_redis_and_a_broker_when_the_environment_sets_none(tmp_path, monkeypatch):
    """`run.py serve` is the production-like run: PostgreSQL, a real Celery broker and a shared
    cache unless the environment names others (never the demo's SQLite and eager tasks)."""
    monkeypatch.setattr(run, "ROOT", tmp_path)
    env = run.serve_environment({"PATH": "/usr/bin"})

    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["CELERY_BROKER_URL"] != env["REDIS_URL"]  # the broker and the cache: two Redis databases
    kept = run.serve_environment({"PATH": "/usr/bin", "CELERY_BROKER_URL": "amqp://mq", "DATABASE_URL": "sqlite:///x"})
    assert (kept["CELERY_BROKER_URL"], kept["DATABASE_URL"]) == ("amqp://mq", "sqlite:///x")


@pytest.mark.parametrize("port", ["65536", "65535"])
def test_the_demo_port_is_at_most_65535(port, monkeypatch, capsys):
    """PORT=65536 is refused at once with exit code 2, not after the install and the migrations."""
    if port == "65535":
        assert run.demo_port({"PORT": port}) == 65535
        return
    with pytest.raises(SystemExit) as exited:
        run.demo_port({"PORT": port})
    assert exited.value.code == 2
    assert "PORT must be a port number from 1 to 65535" in capsys.readouterr().err


def test_a_step_killed_by_a_signal_exits_as_a_shell_reports_it(tmp_path, monkeypatch, capsys):
    """A step killed by signal N (returncode -N) ends run.py with 128 + N, as a shell says: 143
    for SIGTERM, never 1 or a negative code."""
    killed = tmp_path / "python"
    killed.write_text("#!/bin/sh\nkill -TERM $$\n")
    killed.chmod(killed.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(run, "ROOT", tmp_path)

    with pytest.raises(SystemExit) as exited:
        run.sh(killed, "manage.py", "migrate", check=True)

    assert exited.value.code == 128 + signal.SIGTERM
    assert f"failed with exit code {-signal.SIGTERM}" in capsys.readouterr().err


def test_the_virtualenv_is_reinstalled_when_the_dependencies_change(tmp_path, monkeypatch):
    """The install stamp holds pyproject.toml's digest: a changed dependency list installs again
    (and stamps the new digest); an unchanged one installs nothing."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\ndependencies = ['django']\n")
    venv = tmp_path / ".venv"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    (venv / ".cx-installed").write_text(hashlib.sha256(b"an older pyproject.toml").hexdigest())
    steps = []
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "VENV", venv)
    monkeypatch.setattr(run, "PY", python)
    monkeypatch.setattr(run, "sh", lambda *args, **kwargs: steps.append(args))

    run.ensure_venv()
    assert any("install" in args and "-e" in args for args in steps)
    digest = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes()).hexdigest()
    assert (venv / ".cx-installed").read_text() == digest

    steps.clear()
    run.ensure_venv()
    assert steps == []
