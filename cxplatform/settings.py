"""One settings module, driven by environment variables (and an optional `.env` file).

Embedded default: a SQLite file in the project and Celery in eager mode, so a fresh checkout
runs with nothing but Python. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY,
ALLOWED_HOSTS and the email settings; `manage.py check --deploy` must then be clean.
"""

import logging
import re
import sys
from datetime import timedelta
from email.headerregistry import Address
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from cxplatform.environment import StrictEnv

BASE_DIR = Path(__file__).resolve().parent.parent

env = StrictEnv()  # a value that does not parse stops the start, naming its variable
# `.env` holds the embedded demo's settings (`run.py demo` writes it: DEBUG on, emails to files).
# `run.py serve` sets READ_DOTENV=0, so a real run never inherits them from a demo in the checkout.
if env.bool("READ_DOTENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# pytest runs on the embedded defaults too, without a production secret.
TESTING = env.bool("CX_TESTING", default="pytest" in sys.modules)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    SECRET_KEY = "insecure-development-only-key-never-use-in-production"  # noqa: S105
# Earlier keys, still accepted after a rotation: staff sessions go on, and invitations made before it
# (queued, or sent and due a reminder) are emailed with the link they were made with (surveys.models).
SECRET_KEY_FALLBACKS = env.secret_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # the widget templates, for FORM_RENDERER below
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "auditlog",
    "anymail",
    "cxplatform",
    "accounting",
    "surveys",
    "reports",
]

MIDDLEWARE = [
    "cxplatform.token_pages.TokenAddressPrivacyMiddleware",  # outermost: sees every response
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cxplatform.staff_language.StaffLanguageMiddleware",  # staff pages English; token pages translate
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cxplatform.error_pages.MethodNotAllowedPageMiddleware",  # a page for require_POST's empty 405
    "cxplatform.error_pages.NulInQueryStringMiddleware",  # PostgreSQL refuses NUL: a 400, not a 500
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "cxplatform.audit.AuditlogMiddleware",  # auditlog's, knowing API tokens' users too
]

ROOT_URLCONF = "cxplatform.urls"
CSRF_FAILURE_VIEW = "cxplatform.error_pages.csrf_failure"  # a token page's in its customer's language
WSGI_APPLICATION = "cxplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "cxplatform.context_processors.platform",
            ],
        },
    },
]
# Widgets render through TEMPLATES, so templates/ can override one (admin/widgets/split_datetime.html
# labels the admin's date and time inputs); Django's default renderer only looks in the apps.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT: it compiles each report statement over the ledger (earned growth) for 2-3 s,
    # more than it saves (EXPLAIN in bench/earned_growth.py); PG_OPTIONS overrides.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", env.str("PG_OPTIONS", default="-c jit=off")
    )
else:
    # Waiting on a lock beats failing with "database is locked" under the dev server's threads.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
# Login attempts per IP address and per username (django-ratelimit, shared through the cache), one
# budget for the login page, the admin's login and the API's token login.
LOGIN_RATE = env.rate("LOGIN_RATE", default="10/m")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served at the site root by WhiteNoise: browsers ask every page, the admin's and the API's too, for
# /favicon.ico.
WHITENOISE_ROOT = BASE_DIR / "root_files"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "cxplatform.staticfinders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and not TESTING
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded CSVs are streamed from a temporary file, never held whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=20 * 1024 * 1024)
# An import still "running" this long after it started belongs to a process that died (a worker
# killed mid-upload): the hourly sweeper marks it failed (accounting.services.import_batches_fail_stale).
IMPORT_STALE_HOURS = env.int("IMPORT_STALE_HOURS", default=6)

# --- Product settings -------------------------------------------------------------------------
COMPANY_NAME = env.str("COMPANY_NAME", default="Example Co")
REPORTING_CURRENCY = env.str("REPORTING_CURRENCY", default="EUR")
SITE_URL = env.url_of("SITE_URL", schemes=("https", "http"), default="http://127.0.0.1:8000").rstrip("/")
REASON_LINK_VALID_DAYS = env.int("REASON_LINK_VALID_DAYS", default=30)

# --- Surveys (SPEC §4) ---------------------------------------------------------------------------
# Messages per batch: one SMTP connection each; a batch is one task run.
SURVEY_SEND_BATCH_SIZE = env.int("SURVEY_SEND_BATCH_SIZE", default=200)
# Sending tasks started at once, each on its own share of the rows and SMTP connection: match the
# workers' total concurrency (the pacing below applies to each).
SURVEY_SEND_PARALLEL = env.int("SURVEY_SEND_PARALLEL", default=2)
# Per worker process; 0 = no pacing. Providers cap senders; stay under their limit.
SURVEY_SEND_RATE_PER_SECOND = env.float("SURVEY_SEND_RATE_PER_SECOND", default=20.0)
# A row left "sending" longer than this belongs to a dead worker (see surveys/sending.py).
SURVEY_SENDING_STALE_MINUTES = env.int("SURVEY_SENDING_STALE_MINUTES", default=15)
# How long after answering a customer may change the answer from the same link.
SURVEY_EDIT_WINDOW_HOURS = env.int("SURVEY_EDIT_WINDOW_HOURS", default=72)
# Public token pages: requests per IP address.
SURVEY_PUBLIC_RATE = env.rate("SURVEY_PUBLIC_RATE", default="60/m")
# Bounce and complaint webhooks (django-anymail): "user:password" the provider sends.
# The bounce and complaint webhooks are mounted only with a secret: without one anybody could
# mark invitations bounced and suppress addresses (cxplatform/urls.py).
ANYMAIL = {"WEBHOOK_SECRET": env.user_password("ANYMAIL_WEBHOOK_SECRET")}
# Detractor alert webhooks go to public addresses only (surveys/webhook_urls.py); on for local receivers.
ALERT_WEBHOOK_ALLOW_PRIVATE = env.bool("ALERT_WEBHOOK_ALLOW_PRIVATE", default=False)
# Signs each alert webhook (X-CX-Signature) so that its receiver can tell it came from here.
ALERT_WEBHOOK_SECRET = env("ALERT_WEBHOOK_SECRET", default="")

# --- Email (Django's own names) ----------------------------------------------------------------
# Imported now: a backend that does not import stops the start, not each send in the worker.
EMAIL_BACKEND = env.email_backend("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "tmp" / "mail"))
DEFAULT_FROM_EMAIL = env.address("DEFAULT_FROM_EMAIL", default=str(Address(COMPANY_NAME, addr_spec="cx@example.com")))
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.url_of("CELERY_BROKER_URL", schemes=("redis", "rediss", "amqp", "amqps"))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still pass through a producer: with no broker kombu falls back to localhost and
    # warns about it on the first task of each process. Nothing is sent to this one either.
    CELERY_BROKER_WRITE_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# A broker that accepts connections but never answers (a hung Redis, a half-open path) must fail
# a publish or /healthz's check within seconds, not hold the web request until gunicorn kills it:
# what was written is committed already, and the sweepers hand it over once the broker is back.
BROKER_SOCKET_TIMEOUT_SECONDS = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2 * 60 * 60,
    "socket_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_SOCKET_TIMEOUT_SECONDS
# A worker waits for its broker however long it is down: Celery's default gives up after 100 tries
# (about 47 minutes) and exits, and honcho (`run.py serve`) then stops web and beat with it.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# No remote control (`celery inspect`, `celery control`): its broadcast channel is a Redis
# subscription, and a worker that noticed a Redis restart on it while a task ran exited with
# "Unrecoverable error: AttributeError ... 'hostname'" (kombu 5.7: a third of the restarts tried).
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# django-celery-beat's, outliving a database outage (cxplatform/beat.py).
CELERY_BEAT_SCHEDULER = "cxplatform.beat:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
if CELERY_TASK_ALWAYS_EAGER:
    logging.getLogger("cxplatform").warning(
        "CELERY_BROKER_URL is not set: Celery tasks run EAGERLY inside the web process. "
        "This is the embedded demo mode; production must set CELERY_BROKER_URL."
    )

# --- Cache (rate limits need a shared cache in production) ---------------------------------------
REDIS_URL = env.url_of("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    # The broker's timeouts: a hung cache fails a request's rate limit in seconds (it then goes
    # through, cxplatform/ratelimits.py), not after redis-py's default of 5 s per call.
    CACHES = {
        "default": {
            "BACKEND": "cxplatform.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
                "socket_connect_timeout": BROKER_SOCKET_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Where limits per IP address find the client's address. Unset: REMOTE_ADDR, right only when clients
# connect to gunicorn themselves; behind a reverse proxy it is the proxy's, one budget for everybody.
# Then a META key the proxy always sets, overwriting the client's (HTTP_X_REAL_IP), or
# "cxplatform.ratelimits.forwarded_for_ip": X-Forwarded-For, appended to by TRUSTED_PROXY_COUNT proxies.
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="") or None
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
if RATELIMIT_IP_META_KEY == "HTTP_X_FORWARDED_FOR":
    raise ImproperlyConfigured(
        "RATELIMIT_IP_META_KEY=HTTP_X_FORWARDED_FOR would trust addresses the client writes: "
        "use cxplatform.ratelimits.forwarded_for_ip (with TRUSTED_PROXY_COUNT)."
    )
if RATELIMIT_IP_META_KEY and not re.fullmatch(r"[A-Z][A-Z0-9_]*|\w+(\.\w+)+", RATELIMIT_IP_META_KEY):
    raise ImproperlyConfigured(
        f"RATELIMIT_IP_META_KEY={RATELIMIT_IP_META_KEY!r} is neither a request.META key (HTTP_X_REAL_IP) "
        "nor the dotted path of a function."
    )
if TRUSTED_PROXY_COUNT < 1:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT counts the proxies in front of gunicorn: 1 or more.")

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cxplatform.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cxplatform.permissions.RolePermissions"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "cxplatform.api_renderers.BrowsableAPIRenderer",  # DRF's, without its unlabelled HTML forms
    ],
    "DEFAULT_PARSER_CLASSES": [
        "cxplatform.api_parsers.JSONParser",  # DRF's, with a 400 for JSON nested too deeply
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "cxplatform.api_filters.DjangoFilterBackend",
        "cxplatform.api_filters.SearchFilter",
        "cxplatform.api_filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    # DRF's, answering a body over DATA_UPLOAD_MAX_MEMORY_SIZE with a JSON 413.
    "EXCEPTION_HANDLER": "cxplatform.api_views.exception_handler",
}
REST_KNOX = {"TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)), "AUTO_REFRESH": False}
SPECTACULAR_SETTINGS = {
    "TITLE": "CX Platform API",
    "DESCRIPTION": "Customers, revenue ledger, acquisition reasons, surveys and reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its Swagger UI need a login (any role; token or session), as every page (SPEC §1).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_AUTHENTICATION": REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ReasonKindEnum": "accounting.models.ReasonKind",
        "CostKindEnum": "accounting.models.CostKind",
        "ImportKindEnum": "accounting.models.ImportKind",
        "ImportStatusEnum": "accounting.models.ImportStatus",
        "SurveyKindEnum": "surveys.models.SurveyKind",
    },
}

# --- Security ------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own static files (no inline script, no eval): an injected <script> in a
# verbatim would not run even if escaping failed. Inline styles stay allowed: plotly.js and the
# admin set them, and a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],  # blob: plotly's "download plot as PNG" draws through one
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # A load balancer's health check reaches gunicorn over plain HTTP: a redirect would read as
    # healthy whatever the database's state.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
    # No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from any client. gunicorn
    # sets the request's scheme from it for the proxies of FORWARDED_ALLOW_IPS alone.

# --- Logging -------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # One JSON object a line for log collectors: LOG_FORMAT=json.
        "json": {"()": "cxplatform.log_redaction.json_formatter"},
    },
    # Token pages carry the customer's credential in their path: no log line may show it.
    "filters": {"redact_tokens": {"()": "cxplatform.log_redaction.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.choice("LOG_FORMAT", choices=("plain", "json"), default="plain"),
            "filters": ["redact_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env.log_level("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Not every 404 (each token guess would be a line); errors are logged, redacted.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # runserver's request lines, through the same redacting handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
