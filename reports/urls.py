from django.urls import path

from . import nps_views, views

app_name = "reports"

urlpatterns = [
    path("earned-growth/", views.earned_growth, name="earned-growth"),
    path("earned-growth/recompute/", views.earned_growth_recompute, name="earned-growth-recompute"),
    path("nps/", nps_views.nps, name="nps"),
]
