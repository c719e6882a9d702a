"""Staff web UI of the surveys app (the public answer pages are in public_urls.py)."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("surveys/", views.survey_list, name="survey-list"),
    path("surveys/new/", views.survey_create, name="survey-create"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey-detail"),
    path("surveys/<int:pk>/edit/", views.survey_edit, name="survey-edit"),
    path("surveys/<int:pk>/preview/", views.survey_preview, name="survey-preview"),
    path("surveys/<int:pk>/launch/", views.survey_launch, name="survey-launch"),
    path("surveys/<int:pk>/retry-failed/", views.survey_retry_failed, name="survey-retry-failed"),
    path("responses/", views.response_list, name="response-list"),
    path("responses/export.csv", views.response_export, name="response-export"),
    path("responses/<int:pk>/", views.response_detail, name="response-detail"),
    path("responses/<int:pk>/follow-up/", views.response_follow_up_view, name="response-follow-up"),
]
