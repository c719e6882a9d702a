"""The Imports page runs an upload inside the web request: gunicorn's default 30 s worker timeout
killed a 300,000-customer upload (about a minute) mid-import, a 500 for the user and a batch left
"running". gunicorn.conf.py, which the Procfile's web line (`run.py serve`) reads, allows minutes."""

import re
import sys
from contextlib import chdir
from pathlib import Path
from unittest import mock

from gunicorn.app.wsgiapp import WSGIApplication

ROOT = Path(__file__).resolve().parents[2]


def procfile_web_argv() -> list[str]:
    """The Procfile's web command, its `${VAR:-default}`s given their defaults."""
    [line] = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")]
    command = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line.removeprefix("web:"))
    return [part.strip('"') for part in command.split()]


def gunicorn_settings(monkeypatch, **environ):
    """What gunicorn started by the Procfile from the project root would run with."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with chdir(ROOT), mock.patch.object(sys, "argv", procfile_web_argv()):
        return WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg


def test_the_web_workers_have_minutes_for_an_upload(monkeypatch):
    monkeypatch.delenv("GUNICORN_TIMEOUT", raising=False)

    assert gunicorn_settings(monkeypatch).timeout == 300


def test_gunicorn_timeout_sets_it(monkeypatch):
    assert gunicorn_settings(monkeypatch, GUNICORN_TIMEOUT="900").timeout == 900
