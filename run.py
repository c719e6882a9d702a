#!/usr/bin/env python3
"""Set up and run CX Platform with nothing but Python.

    python3 run.py demo    # virtualenv, install, migrate, demo data, print logins, serve :8000
    python3 run.py test    # virtualenv, install, run the whole test suite (extra args go to pytest)
    python3 run.py serve   # web (gunicorn), Celery worker and beat together (honcho, Procfile)
    python3 run.py help    # this text (also --help, -h)

Embedded defaults: SQLite file and Celery eager. Set DATABASE_URL / CELERY_BROKER_URL to use
PostgreSQL and Redis instead (CI does). `demo` serves on 127.0.0.1:$PORT, 8000 unless PORT is set
(PORT=8001 python3 run.py demo, when 8000 is taken).
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


def fail(message: str, code: int):
    """One line on stderr and the exit code: a step's failure is not a bug of run.py to trace back."""
    print(f"run.py: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def sh(*args, check=False, hint="", **kwargs):
    """Run one step in ROOT. With `check` a failure ends run.py with the step's exit code, after its
    own output said why."""
    print("+", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], cwd=ROOT, check=False, **kwargs)  # noqa: S603
    if check and done.returncode:
        # Killed by signal N (returncode -N): exit as a shell reports it, 128 + N.
        code = done.returncode if done.returncode > 0 else 128 - done.returncode
        step = " ".join([Path(args[0]).name, *map(str, args[1:])])  # python, not the .venv's path
        fail(f"`{step}` failed with exit code {done.returncode}; its message is above. {hint}".rstrip(), code)
    return done


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


def demo_port(environ) -> int:
    port = environ.get("PORT", "").strip() or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"PORT must be a port number from 1 to 65535, not {port!r}.", 2)
    return int(port)


def site_url_set(environ) -> bool:
    """SITE_URL given in the environment or in .env (which settings read under the environment)."""
    dotenv = ROOT / ".env"
    lines = dotenv.read_text().splitlines() if dotenv.exists() else []
    return bool(environ.get("SITE_URL")) or any(line.strip().startswith("SITE_URL=") for line in lines)


def demo():
    port = demo_port(os.environ)  # checked before the install and the migrations, not after
    ensure_venv()
    ensure_dotenv()
    manage = [PY, "manage.py"]
    env = dict(os.environ)
    if port != 8000 and not site_url_set(env):
        # The emailed links and the printed logins point at the port served.
        env["SITE_URL"] = f"http://127.0.0.1:{port}"
    sh(*manage, "migrate", "--noinput", env=env, check=True)
    sh(*manage, "demo", env=env, check=True)
    # Most often it fails because the port is taken (another demo, a dev server).
    hint = f"If port {port} is in use, choose another: PORT={8001 if port == 8000 else 8000} python3 run.py demo"
    sh(*manage, "runserver", f"127.0.0.1:{port}", env=env, check=True, hint=hint)


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


def main(argv: list[str]) -> int:
    command, extra = (argv[0] if argv else ""), argv[1:]
    if command in ("help", "--help", "-h"):
        print(__doc__)
        return 0
    if command == "demo":
        demo()
        return 0
    if command == "test":
        return test(extra)
    if command == "serve":
        return serve()
    print(f"run.py: unknown command {command!r}" if command else "run.py: no command given", file=sys.stderr)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as error:  # venv's own pip bootstrap, on a broken Python
        fail(f"`{' '.join(map(str, error.cmd))}` failed with exit code {error.returncode}.", error.returncode or 1)
    except KeyboardInterrupt:
        sys.exit(130)  # Ctrl-C is how the demo's server is stopped: no traceback for it
