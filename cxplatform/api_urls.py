"""The API under /api/, and its root (GET /api/): one index of every app's endpoints.

The apps' viewsets go through one router: a router per app would each answer /api/ with an index
of its own, and the first one included would hide the others'."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import APIRootView, DefaultRouter

from accounting.api_urls import router as accounting_router
from reports.api_urls import urlpatterns as report_urls
from surveys.api_urls import router as surveys_router

from .api_views import LoginView, LogoutView
from .views import ApiDocsView


class ApiRootView(APIRootView):
    """DRF's index; under /api/.json, the reports' views (which have no `.json` route) still listed."""

    def get(self, request, *args, **kwargs):
        links = super().get(request, *args, **kwargs).data
        for key, url_name in self.api_root_dict.items():
            links.setdefault(key, reverse(url_name, request=request))
        return Response(links)


class ApiRouter(DefaultRouter):
    """The apps' viewsets, with the reports' views beside them in the root's index."""

    APIRootView = ApiRootView

    def get_api_root_view(self, api_urls=None):
        list_name = self.routes[0].name
        index = {prefix: list_name.format(basename=basename) for prefix, _, basename in self.registry}
        index |= {str(pattern.pattern).rstrip("/"): pattern.name for pattern in report_urls}
        return self.APIRootView.as_view(api_root_dict=index)


class SchemaView(SpectacularAPIView):
    """drf-spectacular's schema view, its errors {"detail": "..."} in its default YAML too (README).

    Its YAML renderer dumps DRF's ErrorDetail as a mapping of `string` and `code`; JSON reads it as
    the string it is."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        response.data = {
            key: str(value) if isinstance(value, ErrorDetail) else value for key, value in response.data.items()
        }
        return response


router = ApiRouter()
for prefix, viewset, basename in (*accounting_router.registry, *surveys_router.registry):
    router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("auth/login/", LoginView.as_view(), name="api-login"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("reports.api_urls")),
    path("", include(router.urls)),
]
