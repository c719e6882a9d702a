"""Public pages, no login: reached from links in survey emails (SPEC §7 paths)."""

from django.urls import path

from . import public_views

urlpatterns = [
    path("s/<str:token>/", public_views.survey_answer, name="survey-answer"),
    path("s/<str:token>/unsubscribe/", public_views.survey_unsubscribe, name="survey-unsubscribe"),
]
