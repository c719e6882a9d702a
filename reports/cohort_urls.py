from django.urls import path

from . import cohort_views

app_name = "cohorts"

urlpatterns = [
    path("cohorts/", cohort_views.cohorts, name="cohorts"),
    path("referrals/", cohort_views.referrals, name="referrals"),
]
