from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from .api_views import LoginView, LogoutView
from .views import ApiDocsView

urlpatterns = [
    path("auth/login/", LoginView.as_view(), name="api-login"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("accounting.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("surveys.api_urls")),
]
