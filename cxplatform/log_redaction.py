"""Keep the tokens of emailed links out of every log.

A token in `/s/<token>/` or `/why/<token>/` is the customer's credential: whoever reads it in a log
could answer, edit an answer or unsubscribe in their name. Django's loggers (the 404 and 500
logs, runserver's request lines, Celery's task logs) pass through `RedactTokens`; gunicorn's
access log through `GunicornLogger` (gunicorn.conf.py names it).
"""

import logging
import re

from gunicorn.glogging import Logger

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


class GunicornLogger(Logger):
    """gunicorn's logger, with every text of the access log redacted: the request line, the path,
    and the referrer (the answer page's POST carries its own URL as referrer)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
