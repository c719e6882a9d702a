import os
from logging.config import dictConfig

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")

app = Celery("cxplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(loglevel=None, **kwargs):
    """Workers and beat log through Django's LOGGING (LOG_FORMAT=json, token redaction), not
    through the root logger Celery would otherwise set up for itself; at the level their
    `--loglevel` names (the Procfile passes LOG_LEVEL), which Celery hands over as `loglevel`."""
    import logging

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
