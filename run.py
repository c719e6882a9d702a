#!/usr/bin/env python3
"""Set up and run CX Platform with nothing but Python.

    python3 run.py demo    # virtualenv, install, migrate, demo data, print logins, serve :8000
    python3 run.py test    # virtualenv, install, run the whole test suite (extra args go to pytest)
    python3 run.py serve   # web (gunicorn), Celery worker and beat together (honcho, Procfile)

Embedded defaults: SQLite file and Celery eager. Set DATABASE_URL / CELERY_BROKER_URL to use
PostgreSQL and Redis instead (CI does).
"""

import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def sh(*args, **kwargs):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], cwd=ROOT, **kwargs)  # noqa: S603


def ensure_venv():
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    # Reinstall only when the dependency list changed.
    stamp = VENV / ".cx-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip", check=True)
    sh(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]", check=True)
    stamp.write_text(digest)


def ensure_dotenv():
    """A local .env for the embedded demo: DEBUG on, a secret made on this machine, and emails
    written as files under tmp/mail/ (no SMTP server needed; open a survey link from there).
    `serve` never reads it (READ_DOTENV=0)."""
    dotenv = ROOT / ".env"
    if not dotenv.exists():
        dotenv.write_text(
            f"DEBUG=1\nSECRET_KEY={secrets.token_urlsafe(50)}\n"
            "EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend\n"
            "SURVEY_SEND_RATE_PER_SECOND=0\n"
        )


def demo():
    ensure_venv()
    ensure_dotenv()
    manage = [PY, "manage.py"]
    sh(*manage, "migrate", "--noinput", check=True)
    sh(*manage, "demo", check=True)
    sh(*manage, "runserver", "127.0.0.1:8000", check=True)


def local_secret_key() -> str:
    """A secret made on this machine and kept in tmp/ (readable by its owner only), so that
    sessions survive a restart of `serve` when the environment sets no SECRET_KEY."""
    path = ROOT / "tmp" / "secret_key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def serve_environment(base: dict) -> dict:
    """`serve`'s processes run on the environment alone: not the demo's .env, whose DEBUG and
    file email backend would count invitations as sent while writing them to tmp/mail/."""
    env = {**base, "READ_DOTENV": "0", "DEBUG": base.get("DEBUG", "0")}
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = local_secret_key()
    # Plain HTTP on this machine; behind a TLS proxy leave these at their secure defaults.
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.setdefault(name, "0")
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxplatform")
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
    env["PATH"] = str(PY.parent) + os.pathsep + env.get("PATH", "")
    return env


def serve():
    """Web, worker and beat from the Procfile, against the DATABASE_URL and CELERY_BROKER_URL set."""
    ensure_venv()
    env = serve_environment(dict(os.environ))
    sh(PY, "manage.py", "migrate", "--noinput", env=env, check=True)
    sh(PY, "manage.py", "collectstatic", "--noinput", "-v0", env=env, check=True)
    return sh(*honcho_start(), env=env).returncode


def honcho_start(procfile_dir: Path = ROOT) -> list:
    """honcho reads `.env` by default, and its values win over the environment for each process:
    with a demo's `.env` in the checkout, serve would run with DEBUG on and emails to files. So no
    env file at all."""
    return [PY, "-m", "honcho", "start", "--env", os.devnull, "--app-root", procfile_dir]


def test(extra):
    ensure_venv()
    return sh(PY, "-m", "pytest", *extra).returncode


if __name__ == "__main__":
    command, extra = (sys.argv[1] if len(sys.argv) > 1 else ""), sys.argv[2:]
    if command == "demo":
        demo()
    elif command == "test":
        sys.exit(test(extra))
    elif command == "serve":
        sys.exit(serve())
    else:
        print(__doc__)
        sys.exit(2)
