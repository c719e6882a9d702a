"""Staff web UI of the surveys app (the public answer pages are in public_urls.py)."""

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("surveys/", views.survey_list, name="survey-list"),
    path("responses/", views.response_list, name="response-list"),
]
