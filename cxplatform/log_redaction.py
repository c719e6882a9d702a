"""Keep the tokens of emailed links out of every log.

A token in `/s/<token>/` or `/why/<token>/` is the customer's credential: whoever reads it in a log
could answer, edit an answer or unsubscribe in their name. Django's loggers (the 404 and 500
logs, runserver's request lines, Celery's task logs) pass through `RedactTokens`; gunicorn's
access log through `GunicornLogger` (gunicorn.conf.py names it).
"""

import logging
import os
import re

from gunicorn.glogging import Logger, SafeAtoms

TOKEN_PATH = re.compile(r"(/(?:s|why)/)[A-Za-z0-9_-]{8,}")
REDACTED = r"\1[token]"


def redact(text: str) -> str:
    return TOKEN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_PATH.search(message):
            record.msg, record.args = redact(message), None
        # Django's request logs carry the request too, which the JSON formatter writes out.
        request = getattr(record, "request", None)
        if request is not None and TOKEN_PATH.search(str(request)):
            record.request = redact(str(request))
        return True


class RedactedAtoms(SafeAtoms):
    """gunicorn's access-log values, redacted as the format reads them (a handful of the dozens
    it offers: request line, path, referrer — the answer page's POST carries its own URL)."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return redact(value) if isinstance(value, str) else value


# One JSON object a line (LOG_FORMAT=json), for settings.LOGGING and gunicorn's own log alike.
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
JSON_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(JSON_FORMAT, rename_fields=JSON_RENAMED)


class GunicornLogger(Logger):
    """The access log redacted; gunicorn's own log (workers booting, a worker timeout and its
    traceback) in JSON too when LOG_FORMAT=json, and redacted like every other log."""

    atoms_wrapper_class = RedactedAtoms

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            if os.environ.get("LOG_FORMAT") == "json":
                handler.setFormatter(json_formatter())
            if not any(isinstance(f, RedactTokens) for f in handler.filters):
                handler.addFilter(RedactTokens())
