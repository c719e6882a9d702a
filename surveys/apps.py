from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self):
        from . import alerts  # noqa: F401 - registers send_detractor_alert with Celery
        from .webhooks import connect

        connect()  # bounce and complaint webhooks (django-anymail's tracking signal)
