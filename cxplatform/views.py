from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated

from .ratelimits import login_over_limit, login_retry_after, too_many_login_attempts_message

BROKER_TIMEOUT_SECONDS = 2


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "home.html"


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI. SPECTACULAR_SETTINGS' SERVE_PERMISSIONS decide who sees it (a login, any role);
    a browser that is not logged in goes to the login page, as on every other page, instead of a
    bare 401. The UI's script (`?script`, fetched by that page) and a rejected token keep the API's 401."""

    # An HTML page and its script: OPTIONS would render with no template (a 500).
    http_method_names = ["get", "head"]

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


def too_many_login_attempts(response):
    response.status_code = 429
    response["Retry-After"] = str(login_retry_after())
    return response


def _refuse_over_limit():
    raise ValidationError(too_many_login_attempts_message(), code="too_many_attempts")


def refused_login_form(form_class, request):
    """The login form as posted, refused for the rate limit without checking the password: checked,
    the "wrong password" error, there or not, would tell a guesser past the limit whether it was right."""
    form = form_class(request, data=request.POST)
    form.clean = _refuse_over_limit  # in place of the form's clean(), which authenticates
    return form


class LoginView(auth_views.LoginView):
    """Django's login, limited per IP address and per username (LOGIN_RATE, 10/m; one budget with the
    admin's login and the API's): password guessing gets a 429 and the form again, whatever the
    password. Fails open without the cache."""

    def post(self, request, *args, **kwargs):
        if login_over_limit(request, request.POST.get("username", "")):
            form = refused_login_form(self.get_form_class(), request)
            return too_many_login_attempts(self.render_to_response(self.get_context_data(form=form)))
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, its old-password check under the login limit and budget: a stolen
    session must not guess its way to the password. Over the limit, a 429 and the form again, the
    old password not checked. A refused form answers 400, as every other staff form does."""

    def post(self, request, *args, **kwargs):
        if login_over_limit(request, request.user.get_username()):
            form = self.get_form()
            form.clean_old_password = _refuse_over_limit  # the field's check, which tests the password
            return too_many_login_attempts(self.render_to_response(self.get_context_data(form=form)))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


def admin_password_change(request, extra_context=None):
    """The Django admin's password change (`admin.site.password_change`), limited as above."""
    from django.contrib.admin.forms import AdminPasswordChangeForm

    request.current_app = admin.site.name
    return PasswordChangeView.as_view(
        form_class=AdminPasswordChangeForm,
        success_url=reverse("admin:password_change_done", current_app=admin.site.name),
        extra_context={**admin.site.each_context(request), **(extra_context or {})},
    )(request)


def admin_login(request, extra_context=None):
    """The Django admin's login (`admin.site.login`) under the login page's limit and budget."""
    if request.method == "POST" and login_over_limit(request, request.POST.get("username", "")):
        # The context AdminSite.login gives the template, with the refused form.
        request.current_app = admin.site.name
        context = {
            **admin.site.each_context(request),
            "title": _("Log in"),
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            "form": refused_login_form(admin.site.login_form or AdminAuthenticationForm, request),
            REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME) or reverse("admin:index"),
        }
        return too_many_login_attempts(render(request, admin.site.login_template or "admin/login.html", context))
    return admin.site.login(request, extra_context)
