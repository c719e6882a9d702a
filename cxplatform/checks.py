from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.http.request import validate_host


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


@register(Tags.security, deploy=True)
def site_url_served_here(app_configs, **kwargs):
    """Every link in the customers' emails starts with SITE_URL, built by a worker that has no
    request to take a host from: left at its default, every survey goes out with links to
    http://127.0.0.1:8000, which no customer can open."""
    if settings.DEBUG:
        return []
    url = urlsplit(settings.SITE_URL)
    host = f"[{url.hostname}]" if ":" in (url.hostname or "") else url.hostname or ""  # IPv6 as ALLOWED_HOSTS has it
    if not validate_host(host, settings.ALLOWED_HOSTS):
        problem = "its host is not one of ALLOWED_HOSTS: the links would be refused (400)"
    elif url.scheme != "https" and settings.SECURE_SSL_REDIRECT:
        problem = "it is http:// while the site redirects to HTTPS: each link's token would cross the network in clear"
    else:
        return []
    return [
        Warning(
            f"SITE_URL, the base of every link in the emails, is {settings.SITE_URL}: {problem}.",
            hint="Set SITE_URL to the address customers reach this site at, e.g. https://cx.example.com.",
            id="cxplatform.W003",
        )
    ]
