"""gunicorn reads this file from the directory it starts in (the project root)."""

import os

# The access log without the tokens of emailed links (cxplatform/log_redaction.py).
logger_class = "cxplatform.log_redaction.GunicornLogger"

# Seconds a worker may spend on one request before gunicorn kills it (its default, 30, killed the
# upload of a large file on the Imports page mid-import: a 300,000-customer file takes about a
# minute). Bigger files: the import_* commands. A reverse proxy in front needs a timeout as long.
_timeout = os.environ.get("GUNICORN_TIMEOUT", "300")
if not _timeout.strip().isdigit():
    raise SystemExit(f"GUNICORN_TIMEOUT must be a whole number of seconds, not {_timeout!r}.")
timeout = int(_timeout)
