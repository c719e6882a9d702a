from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("earned-growth/", views.earned_growth, name="earned-growth"),
    path("earned-growth/recompute/", views.earned_growth_recompute, name="earned-growth-recompute"),
]
