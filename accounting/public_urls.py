"""Public pages, no login: reached from links in emails."""

from django.urls import path

from . import public_views

urlpatterns = [
    path("why/<str:token>/", public_views.reason_answer, name="reason-answer"),
]
