"""No log shows the token of an emailed link: gunicorn's access log, Django's and Celery's logs."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cxplatform.log_redaction import RedactTokens, redact

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "wYgC-WxjRu4o7hChZY3NkEOFm95yu3G3hOQrOO1m-vE"


def test_paths_of_token_pages_lose_their_token_and_nothing_else():
    assert redact(f"GET /s/{TOKEN}/?score=9 HTTP/1.1") == "GET /s/[token]/?score=9 HTTP/1.1"
    assert redact(f"/s/{TOKEN}/unsubscribe/") == "/s/[token]/unsubscribe/"
    assert redact(f"https://cx.example.com/why/{TOKEN}/") == "https://cx.example.com/why/[token]/"
    assert redact("/surveys/12/ /customers/s/ /api/responses/") == "/surveys/12/ /customers/s/ /api/responses/"


def test_the_django_log_filter_redacts_the_message_and_the_request_it_carries():
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
                               (f"/s/{TOKEN}/",), None)
    record.request = f"<WSGIRequest: POST '/s/{TOKEN}/'>"
    assert RedactTokens().filter(record)
    assert record.getMessage() == "Internal Server Error: /s/[token]/"
    assert record.request == "<WSGIRequest: POST '/s/[token]/'>"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_started_as_the_readme_says_logs_no_token(tmp_path):
    # The access log wrote "GET /s/<token>/?score=9": whoever read the log could answer for the customer.
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"], "READ_DOTENV": "0", "DEBUG": "1",
        # An empty database: the page fails (500), which logs its path through django.request too.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(  # noqa: S603 - the project's own gunicorn, as in the README
        [gunicorn, "cxplatform.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/s/{TOKEN}/?score=9"
        request = urllib.request.Request(url, headers={"Referer": f"http://127.0.0.1:{port}/s/{TOKEN}/"})
        for _ in range(100):
            try:
                urllib.request.urlopen(request, timeout=5)  # noqa: S310 - our own server
            except urllib.error.HTTPError:
                break  # answered (a 500 on the empty database)
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "/s/[token]/?score=9" in output, output
    assert "Internal Server Error: /s/[token]/" in output, output
    assert TOKEN not in output


def test_celery_workers_log_through_django_logging_as_json_and_redacted():
    # Celery set up its own root logger: LOG_FORMAT=json gave plain lines from the worker and beat.
    code = (
        "import logging, django\n"
        "django.setup()\n"
        "from celery.signals import setup_logging\n"
        "import cxplatform.celery\n"
        "assert setup_logging.receivers, 'Celery would configure logging itself'\n"
        "setup_logging.send(sender=None, loglevel='INFO', logfile=None, format='', colorize=False)\n"
        f"logging.getLogger('celery.app.trace').info('Task done for /why/{TOKEN}/')\n"
    )
    env = {"PATH": os.environ["PATH"], "READ_DOTENV": "0", "DEBUG": "1", "LOG_FORMAT": "json",
           "DJANGO_SETTINGS_MODULE": "cxplatform.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,  # noqa: S603
                          capture_output=True, text=True, check=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert (line["logger"], line["message"]) == ("celery.app.trace", "Task done for /why/[token]/")
