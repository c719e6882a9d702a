from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility, deploy=False)
def celery_not_eager_in_production(app_configs, **kwargs):
    """Eager Celery runs every task inside the web request: fine for a demo, never for production."""
    if settings.DEBUG or settings.TESTING or not settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    return [
        Error(
            "CELERY_BROKER_URL is not set while DEBUG is off: tasks would run eagerly in web requests.",
            hint="Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0), or DEBUG=1 for a local demo.",
            id="cxplatform.E001",
        )
    ]


@register(Tags.security, deploy=True)
def rate_limits_shared_in_production(app_configs, **kwargs):
    """Without a shared cache each process counts its own requests: with three gunicorn workers a
    password guesser gets three times LOGIN_RATE, and token guessers likewise."""
    if settings.DEBUG or settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set: the limits per IP address and per username (logins, public token "
            "pages) are counted per process, not shared between web processes.",
            hint="Set REDIS_URL (e.g. redis://127.0.0.1:6379/1) to the cache every web process shares.",
            id="cxplatform.W002",
        )
    ]
