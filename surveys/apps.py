from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self):
        from . import alerts  # noqa: F401 - registers the alert task and its sweeper with Celery
        from .webhooks import connect

        connect()  # bounce and complaint webhooks (django-anymail's tracking signal)
