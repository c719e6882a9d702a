"""Staff web UI of the surveys app."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render


@login_required
@permission_required("surveys.view_survey", raise_exception=True)
def survey_list(request):
    return render(request, "surveys/survey_list.html", {"surveys": []})


@login_required
@permission_required("surveys.view_response", raise_exception=True)
def response_list(request):
    return render(request, "surveys/response_list.html", {"responses": []})
