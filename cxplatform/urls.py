from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("accounting.urls")),
    path("", include("accounting.public_urls")),
    path("", include("surveys.urls")),
    path("", include("surveys.public_urls")),
    path("reports/", include("reports.urls")),
    path("reports/", include("reports.cohort_urls")),
    path("api/", include("cxplatform.api_urls")),
    # Ahead of admin.site.urls: the admin's login and password change under the login limit.
    # Unnamed, so that reverse("admin:login") stays the admin's own name for this same URL.
    path("admin/login/", views.admin_login),
    path("admin/password_change/", admin.site.admin_view(views.admin_password_change)),
    path("admin/", admin.site.urls),
]

if settings.ANYMAIL["WEBHOOK_SECRET"]:
    # Bounce and complaint webhooks, behind HTTP Basic with the secret; never open without it.
    from surveys.webhook_routes import tracking_patterns

    urlpatterns.insert(0, path("webhooks/anymail/", include((tracking_patterns(), "anymail"))))

# JSON under /api/ (an id the router cannot match, such as 1.5, never reaches DRF).
handler404 = "cxplatform.api_views.not_found"
# Django's 500, at a customer's token address in the language of its page.
handler500 = "cxplatform.error_pages.server_error"
# Django's 400 (too many fields, a bad Host), at a customer's token address the customer's page.
handler400 = "cxplatform.error_pages.bad_request"

admin.site.site_header = "CX Platform administration"
admin.site.site_title = "CX Platform admin"
