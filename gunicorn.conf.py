"""gunicorn reads this file from the directory it starts in (the project root)."""

# The access log without the tokens of emailed links (cxplatform/log_redaction.py).
logger_class = "cxplatform.log_redaction.GunicornLogger"
