from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated

from .ratelimits import over_limit

BROKER_TIMEOUT_SECONDS = 2


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "home.html"


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI. SPECTACULAR_SETTINGS' SERVE_PERMISSIONS decide who sees it (a login, any role);
    a browser that is not logged in goes to the login page, as on every other page, instead of a
    bare 401. The UI's script (`?script`, fetched by that page) and a rejected token keep the API's 401."""

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated) and "script" not in self.request.GET:
            return auth_views.redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        return False
    return True


def broker_ok() -> bool | None:
    """None in eager mode (no broker); else whether the broker answers within 2 seconds."""
    if not settings.CELERY_BROKER_URL:
        return None
    from cxplatform.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - any broker failure means unhealthy
        return False
    return True


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 when it does not. Public: it reveals nothing else.

    A load balancer takes a web process out on 503, and customers' answers need only the
    database: an unreachable broker is reported ("status": "degraded", "broker": "unreachable")
    for monitoring, but it keeps the web processes in.
    """
    database, broker = database_ok(), broker_ok()
    body = {
        "database": "ok" if database else "unreachable",
        "broker": {None: "eager (none)", True: "ok", False: "unreachable"}[broker],
    }
    if not database:
        body["status"] = "error"
    else:
        body["status"] = "degraded" if broker is False else "ok"
    return JsonResponse(body, status=200 if database else 503)


def login_rate(group, request) -> str:
    return settings.LOGIN_RATE


class LoginView(auth_views.LoginView):
    """Django's login, limited per IP address and per username (LOGIN_RATE, 10/m): password
    guessing gets a 429 and the form again, whatever the password. Fails open without the cache."""

    def post(self, request, *args, **kwargs):
        # Both budgets count every attempt (no short-circuit); a cache outage lets logins through.
        by_address = over_limit(request, group="login:ip", key="ip", rate=login_rate)
        by_username = over_limit(request, group="login:username", key="post:username", rate=login_rate)
        if by_address or by_username:
            form = self.get_form()
            form.add_error(None, "Too many login attempts. Wait a minute and try again.")
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = "60"
            return response
        return super().post(request, *args, **kwargs)
