"""Routes of the reports API, mounted under /api/ by cxplatform/api_urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("reports/earned-growth/", apis.EarnedGrowthView.as_view(), name="api-earned-growth"),
    path("reports/nps/", apis.NpsView.as_view(), name="api-nps"),
]
