"""Staff web UI of the surveys app: surveys, their progress and launch, responses and follow-up.

Views are thin: parse the request, call one selector or service, render or redirect. Objects are
fetched only through the permission-checked `access_*` selectors; no GET changes anything.
"""

import datetime as dt
from copy import copy
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounting.models import Customer
from accounting.views import _page, require_GET_or_HEAD, requires
from cxplatform.api_writes import UNIQUE_TAKEN_MEANWHILE, is_unique_violation
from reports.csv_export import csv_response

from . import selectors
from .emails import invitation_message
from .followups import response_follow_up
from .forms import FollowUpForm, LaunchForm, ResponseFilterForm, RetryFailedForm, SurveyForm
from .launch import SENDING_NOT_STARTED, launch_counts, launch_refusal
from .launch import survey_launch as launch_service
from .launch import survey_retry_failed as retry_failed_service
from .models import AudienceKind, Invitation, LaunchChannel, SuppressionReason, Survey

SURVEYS_PER_PAGE = 50
INVITATIONS_PER_PAGE = 50
RESPONSES_PER_PAGE = 50
# The survey page reloads itself while invitations are still queued (static/js/autorefresh.js:
# pausable, and it stops once a form field is changed).
REFRESH_SECONDS = 15

require_GET_HEAD_POST = require_http_methods(["GET", "HEAD", "POST"])


def _posted(request):
    """The POST data to bind a form to, or None on GET (an empty POST is still a submission)."""
    return request.POST if request.method == "POST" else None


# --- Surveys -------------------------------------------------------------------------------------


@require_GET_or_HEAD
@requires("surveys.view_survey")
def survey_list(request):
    page = _page(request, selectors.survey_list(), SURVEYS_PER_PAGE)
    page.object_list = selectors.with_progress(page.object_list)
    return render(request, "surveys/survey_list.html", {"page_obj": page})


@require_GET_HEAD_POST
@requires("surveys.add_survey")
def survey_create(request):
    form = SurveyForm(_posted(request), initial={"owner": request.user})
    if _saving(request, form):
        survey, form = _save_unique(form, lambda: SurveyForm(request.POST, initial={"owner": request.user}))
        if survey is not None:
            messages.success(request, f"Survey “{survey.name}” created.")
            _warn_of_settings(request, survey)
            return redirect("surveys:survey-detail", pk=survey.pk)
    return _form_page(request, form)


@require_GET_HEAD_POST
@requires("surveys.change_survey")
def survey_edit(request, pk: int):
    survey = selectors.access_survey(request.user, pk, perm="surveys.change_survey")
    with transaction.atomic():
        if request.method == "POST" and "preview" not in request.POST:
            # The row lock a launch holds while it invites: a save waits for it, then checks and
            # writes against the survey as the launch left it (its kind locked by then).
            with selectors.survey_kept():
                survey.refresh_from_db(from_queryset=Survey.objects.select_for_update())
        stored = copy(survey)  # the form's checks write the posted values onto its instance
        form = SurveyForm(_posted(request), instance=survey)
        if _saving(request, form):
            saved, form = _save_unique(form, lambda: SurveyForm(request.POST, instance=copy(stored)))
            if saved is not None:
                messages.success(request, f"Survey “{survey.name}” saved.")
                for warning in form.locked_changes():
                    messages.warning(request, warning)
                _warn_of_settings(request, survey)
                return redirect("surveys:survey-detail", pk=survey.pk)
    # Headed by the survey as saved: a refused new name is only in the form.
    return _form_page(request, form, survey=stored)


def _warn_of_settings(request, survey) -> None:
    """Allowed, but rarely meant: a relaunch inside the survey's own throttle suppresses everybody
    the last launch reached (a rolling sample may want that; a monthly pulse does not)."""
    if survey.repeat_days and survey.throttle_days > survey.repeat_days:
        messages.warning(
            request,
            f"It relaunches every {survey.repeat_days} days but throttles for {survey.throttle_days}: each "
            f"relaunch suppresses, as throttled, the customers the previous launches reached in that time.",
        )


def _saving(request, form) -> bool:
    """A valid POST saves, unless it came from the form's "Preview the email" button."""
    return request.method == "POST" and "preview" not in request.POST and form.is_valid()


def _save_unique(form, bound_again):
    """`form.save()` in a savepoint: (the survey, form). A name another request took meanwhile (a
    double click, a rename at the same moment) passed the form's check before that request committed,
    and fails on the unique index: then (None, `bound_again()`), the form checked again, which now
    sees the other survey and names the field, as a second submit a moment later gets."""
    try:
        with transaction.atomic():
            return form.save(), form
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
    again = bound_again()
    if again.is_valid():  # the other row since gone, or a constraint no check of the form sees
        again.add_error(None, UNIQUE_TAKEN_MEANWHILE)
    return None, again


def _form_page(request, form, *, survey=None):
    """The create or edit form; after "Preview the email", the email the form's wording would
    send (nothing is saved: the survey in the preview is the form's unsaved copy)."""
    context = {"form": form, "survey": survey}
    if form.is_bound and form.is_valid():
        context["preview"] = _preview(form.save(commit=False))
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "surveys/survey_form.html", context, status=status)


def _preview(survey) -> dict:
    message = invitation_message(_sample_invitation(survey), preview=True)
    html = next((body for body, mime in message.alternatives if mime == "text/html"), "")
    return {"message": message, "html": html}


def _survey_page(request, survey, *, launch_form=None, status=200):
    progress = selectors.survey_progress(survey)
    invitations = _page(request, selectors.survey_invitations(survey), INVITATIONS_PER_PAGE)
    context = {
        "survey": survey,
        "progress": progress,
        "launches": selectors.survey_launches(survey),
        "page_obj": invitations,
        "launch_form": launch_form or LaunchForm(),
        "retry_form": RetryFailedForm(),
        "interrupted": selectors.survey_interrupted_count(survey) if progress.failed else 0,
        "launch_refusal": launch_refusal(survey),
        # A hand-picked list has no audience to launch to: the page names its API endpoint instead.
        "invite_url": reverse("api-survey-invite", args=[survey.pk]) if survey.audience == AudienceKind.LIST else None,
        "refresh_seconds": REFRESH_SECONDS if progress.in_flight and selectors.survey_sending_now(survey) else None,
    }
    return render(request, "surveys/survey_detail.html", context, status=status)


@require_GET_or_HEAD
@requires("surveys.view_survey")
def survey_detail(request, pk: int):
    return _survey_page(request, selectors.access_survey(request.user, pk))


@require_GET_or_HEAD
@requires("surveys.view_survey")
def survey_preview(request, pk: int):
    survey = selectors.access_survey(request.user, pk)
    return render(request, "surveys/survey_preview.html", {"survey": survey, "preview": _preview(survey)})


def _sample_invitation(survey) -> Invitation:
    """An unsaved invitation to a made-up customer: a preview shows nobody's real data."""
    language = survey.language or "en"
    customer = Customer(external_id="SAMPLE", name="Sample Customer", email="customer@example.com", language=language)
    return Invitation(
        survey=survey, customer=customer, email=customer.email, language=language,
        expires_at=timezone.now() + dt.timedelta(days=survey.expiry_days),
    )


@require_POST
@requires("surveys.launch_survey")
def survey_launch(request, pk: int):
    survey = selectors.access_survey(request.user, pk, perm="surveys.launch_survey")
    form = LaunchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The survey was not launched; see the launch form below.")
        return _survey_page(request, survey, launch_form=form, status=400)
    try:
        with selectors.survey_kept():
            launch = launch_service(
                survey=survey, user=request.user, via=LaunchChannel.PAGE,
                segment=form.cleaned_data["segment"] or None, sample_percent=form.cleaned_data["sample_percent"],
            )
    except ValidationError as exc:
        form.add_error(None, exc)  # a dict of errors lands next to its fields (segment)
        messages.error(request, "The survey was not launched; see the launch form below.")
        return _survey_page(request, survey, launch_form=form, status=400)
    _report_launch(request, launch)
    return redirect("surveys:survey-detail", pk=survey.pk)


def _report_launch(request, launch) -> None:
    counts = launch_counts(launch)
    suppressed = sum(counts["suppressed"].values())
    if counts["queued"] and launch.sending_queued is False:
        messages.warning(
            request, f"Launched to {counts['audience']} customer(s): {counts['queued']} queued for sending, "
            f"{suppressed} suppressed. {SENDING_NOT_STARTED}"
        )
    elif counts["queued"]:
        messages.success(
            request, f"Launched to {counts['audience']} customer(s): {counts['queued']} queued for sending, "
            f"{suppressed} suppressed."
        )
    elif counts["audience"]:
        messages.warning(
            request, f"Launched to {counts['audience']} customer(s), but nobody can be emailed: all {suppressed} "
            "are suppressed (their reasons are below)."
        )
    else:
        messages.warning(request, "Launched to nobody: the audience (or its sample) holds no customer.")


@require_POST
@requires("surveys.launch_survey")
def survey_retry_failed(request, pk: int):
    survey = selectors.access_survey(request.user, pk, perm="surveys.launch_survey")
    form = RetryFailedForm(request.POST)
    form.is_valid()  # one optional checkbox: always valid
    try:
        with selectors.survey_kept():
            retry = retry_failed_service(survey=survey, include_interrupted=form.cleaned_data["include_interrupted"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("surveys:survey-detail", pk=survey.pk)
    # By label and in the order the survey page lists them, not by database code.
    reasons = ", ".join(
        f"{label}: {retry.suppressed[value]}"
        for value, label in SuppressionReason.choices
        if retry.suppressed.get(value)
    )
    suppressed = f"{sum(retry.suppressed.values())} suppressed now ({reasons})" if reasons else "none suppressed"
    kept = (
        f"; {retry.kept_interrupted} interrupted invitation(s) kept as they were (their email may have "
        "arrived; they would now be suppressed)" if retry.kept_interrupted else ""
    )
    if retry.sending_queued is False:
        messages.warning(request, f"Queued {retry.queued} failed invitation(s) again; {suppressed}{kept}. "
                         f"{SENDING_NOT_STARTED}")
    else:
        messages.success(request, f"Queued {retry.queued} failed invitation(s) again; {suppressed}{kept}.")
    return redirect("surveys:survey-detail", pk=survey.pk)


# --- Responses -----------------------------------------------------------------------------------


def _response_list_page(request, form, *, status=200):
    filters = form.filters()
    # The choices only the page shows: the CSV export reads neither.
    form.offer_segments(selectors.response_segments(filters.segment))
    list_url = reverse("surveys:response-list")
    context = {
        "form": form,
        "touchpoints": selectors.response_touchpoint_suggestions(),
        "page_obj": _page(request, selectors.response_list(filters), RESPONSES_PER_PAGE),
        # An empty list without a filter means nobody answered yet: the page says so, not "no match".
        "filtered": filters != selectors.ResponseFilters(),
        # Where a response opened from this list leads back to: the list as filtered and paged.
        "back": f"{list_url}?{request.GET.urlencode()}" if request.GET else None,
    }
    return render(request, "surveys/response_list.html", context, status=status)


@require_GET_or_HEAD
@requires("surveys.view_response")
def response_list(request):
    return _response_list_page(request, ResponseFilterForm(request.GET))


@require_GET_or_HEAD
@requires("surveys.view_response")
def response_export(request):
    """The filtered list as CSV; anonymous surveys' rows carry no customer. A filter the form
    refuses (a bookmarked segment renamed since) exports nothing: the list page says why (400)."""
    form = ResponseFilterForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Nothing was exported: a filter is not valid (see above the list).")
        return _response_list_page(request, form, status=400)
    responses = selectors.response_list(form.filters())
    rows = selectors.response_export_rows(responses)
    filename = f"responses-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename, selectors.EXPORT_HEADER, rows)


def _back_to_responses(request) -> str | None:
    """The filtered list a response was opened from (`?back=`), or None. Only a relative path to
    the responses list is followed, its query re-encoded: never another page or host."""
    back = request.GET.get("back", "")
    parts = urlsplit(back)
    list_url = reverse("surveys:response-list")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None) or parts.scheme or parts.netloc:
        return None
    if parts.path != list_url:
        return None
    query = QueryDict(parts.query).urlencode()
    return f"{list_url}?{query}" if query else list_url


def _response_page(request, response, *, form=None, status=200):
    context = {
        "response": response,
        "back": _back_to_responses(request),
        "identity": selectors.response_identity(response, with_invitation=True),
        "form": form or FollowUpForm(initial={"note": response.follow_up_note}),
    }
    return render(request, "surveys/response_detail.html", context, status=status)


@require_GET_or_HEAD
@requires("surveys.view_response")
def response_detail(request, pk: int):
    return _response_page(request, selectors.access_response(request.user, pk))


@require_POST
@requires("surveys.change_response")
def response_follow_up_view(request, pk: int):
    response = selectors.access_response(request.user, pk, perm="surveys.change_response")
    form = FollowUpForm(request.POST, stored_note=response.follow_up_note)
    if not form.is_valid():
        return _response_page(request, response, form=form, status=400)
    response_follow_up(
        response=response, user=request.user, note=form.cleaned_data["note"], done=form.cleaned_data["done"]
    )
    # Opened from a (filtered) list: back to it, for the next one to follow up.
    back = _back_to_responses(request)
    messages.success(request, f"Follow-up saved (response {response.pk})." if back else "Follow-up saved.")
    return redirect(back or reverse("surveys:response-detail", args=[response.pk]))
