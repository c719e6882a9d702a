"""Public survey pages reached from the invitation email, without login (SPEC §4, §7).

`/s/<token>/` (the email's score links add `?score=N`):

- open: GET shows the 0-10 question with that score preselected and writes nothing (mail
  scanners open every link). A valid POST (CSRF-protected) stores the answer and redirects (303)
  to `?thanks=recorded`, a GET that thanks: a refresh or the back button never sends it again.
  An invalid POST shows the form again with its errors (400, as every staff form answers).
- answered, within SURVEY_EDIT_WINDOW_HOURS: the form again, filled in; a POST updates the answer
  (`?thanks=updated`); the same answer sent again writes nothing (`?thanks=recorded`). The thanks
  GET of a link not answered yet shows the form: it never thanks for what was not sent.
- answered, later: "you have already answered" (200) on GET and POST; nothing changes.
- expired: "this link has expired" (410) on GET and POST; nothing changes.
- unknown or malformed token: one fixed "link not found" page (404), byte for byte the same.

`/s/<token>/unsubscribe/`: GET asks for confirmation and writes nothing; POST opts the customer
out of all surveys. It also takes RFC 8058 one-click POSTs from mail providers.

Both pages are rate-limited per client IP (SURVEY_PUBLIC_RATE, one budget for both) before the
token is even looked up, so guessing tokens is slow; a limited request gets a 429 page. An
unsubscribe POST alone is counted only when its token opens nothing (see `unsubscribe_page`). Every
token page carries `Referrer-Policy: same-origin`, `Cache-Control: no-store` and
`X-Robots-Tag: noindex`, and speaks the language the email was written in.
"""

import datetime as dt
from functools import wraps

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cxplatform.token_pages import (
    THANKS_PARAM,
    THANKS_RECORDED,
    THANKS_UPDATED,
    TextareaField,
    link_not_found,
    over_public_limit,
    private,
    public_budget_spent,
    rate_limited,
    thanks_redirect,
)

from .emails import invitation_language
from .models import Invitation
from .responses import (
    AnswerOutcome,
    InvitationPageState,
    ResponseClosed,
    edit_deadline,
    invitation_find,
    invitation_response,
    invitation_state,
    invitation_unsubscribe,
    response_submit,
    survey_question,
    wording,
)

SCORES = range(11)
STATE_PAGES = {
    InvitationPageState.USED: ("surveys/public/already_answered.html", 200),
    InvitationPageState.EXPIRED: ("surveys/public/expired.html", 410),
}


def invitation_page(view):
    """`view(request, invitation)` as the public page of one emailed invitation's token.

    The client's budget (SURVEY_PUBLIC_RATE per IP, one for every token page; failing open without
    the cache) is counted first, before the method check and before the token is even looked up,
    so guessing tokens is slow. Unknown and malformed tokens get the one "link not found" page; the
    page speaks the language the email was written in.
    """

    @require_http_methods(["GET", "HEAD", "POST"])
    def checked(request, token: str, limited: bool):
        if limited:
            return rate_limited(request)
        return _invitation_view(request, token, view, link_not_found)

    @wraps(view)
    def page(request, token: str):
        return checked(request, token, over_public_limit(request))

    return page


def unsubscribe_page(view):
    """`invitation_page`, except that a POST is counted in the client's budget only when its token
    opens nothing.

    RFC 8058 one-click POSTs come from the mail provider's servers, a handful of addresses for all of
    its users: after a launch one of them may opt out more customers a minute than the budget allows,
    and a refused one-click is an opt-out lost. A token that opens an invitation is no guess (256-bit
    tokens), so that POST is not counted; one that opens nothing is. Once the budget is spent every
    POST is refused before the lookup, a valid token's too: a 429 never tells a guesser a hit.
    """
    counted_first = invitation_page(view)

    def missed(request):
        return rate_limited(request) if over_public_limit(request) else link_not_found(request)

    @wraps(view)
    def page(request, token: str):
        if request.method != "POST":
            return counted_first(request, token)
        if public_budget_spent(request):
            return rate_limited(request)
        return _invitation_view(request, token, view, missed)

    return page


def _invitation_view(request, token: str, view, missing):
    """`view(request, invitation)` in the invitation's language; `missing(request)` for a token that
    opens nothing."""
    invitation = invitation_find(token)
    if invitation is None:
        return missing(request)
    return _in_language(invitation, lambda: view(request, invitation))


class AnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        choices=[(score, str(score)) for score in SCORES],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose a score from 0 to 10."),
            "invalid_choice": _("Please choose a score from 0 to 10."),
        },
    )
    reason = TextareaField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    suggestion = TextareaField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, survey, **kwargs):
        super().__init__(*args, **kwargs)
        # A survey without a prompt does not ask that follow-up question at all.
        for name, prompt in (("reason", survey.reason_prompt), ("suggestion", survey.improve_prompt)):
            if prompt:
                self.fields[name].label = wording(prompt)
            else:
                del self.fields[name]


def _in_language(invitation: Invitation, page):
    """Render `page()` in the language of the invitation's email."""
    language = invitation_language(invitation)
    with translation.override(language):
        response = page()
    response["Content-Language"] = language
    return private(response)


def _preselected_score(request) -> int | None:
    try:
        score = int(request.GET.get("score", ""))
    except ValueError:
        return None
    return score if score in SCORES else None


def _initial(request, invitation: Invitation) -> dict:
    existing = invitation_response(invitation)
    initial = {"reason": existing.reason, "suggestion": existing.suggestion} if existing else {}
    score = _preselected_score(request)
    if score is None and existing is not None:
        score = existing.score
    if score is not None:
        initial["score"] = score
    return initial


def _zone(moment: dt.datetime | None) -> str:
    """The zone the page shows an edit deadline in (TIME_ZONE), named for a customer who may live in
    another: its abbreviation ("CET"), else its offset ("UTC+04:00", not tzdata's bare "+04")."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    name = local.tzname()
    if name and name[0] not in "+-":
        return name
    return f"UTC{local.isoformat()[-6:]}"


def _form_page(request, invitation: Invitation, form: AnswerForm, *, status: int = 200):
    selected = str(form["score"].value())
    edit_until = edit_deadline(invitation)
    context = {
        "form": form,
        # The radios and textareas are written out in the template: eleven widget templates
        # per page cost more than the rest of the request.
        "scores": [(str(score), str(score) == selected) for score in SCORES],
        "question": survey_question(invitation.survey),
        "existing": invitation_response(invitation),
        "edit_until": edit_until,
        "edit_zone": _zone(edit_until),
    }
    return render(request, "surveys/public/answer.html", context, status=status)


def _thanks_redirect(request, outcome: str):
    return thanks_redirect(request, THANKS_UPDATED if outcome == AnswerOutcome.UPDATED else THANKS_RECORDED)


def _thanks_page(request, invitation: Invitation, response):
    # The response keeps the time of the first answer, which starts the edit window.
    edit_until = response.answered_at + dt.timedelta(hours=settings.SURVEY_EDIT_WINDOW_HOURS)
    context = {
        "response": response,
        "edit_until": edit_until,
        "edit_zone": _zone(edit_until),
        "updated": request.GET.get(THANKS_PARAM) == THANKS_UPDATED,
    }
    return render(request, "surveys/public/thanks.html", context)


def _get_page(request, invitation: Invitation):
    """The thank-you page after an answer, else the form; neither writes anything."""
    if THANKS_PARAM in request.GET:
        response = invitation_response(invitation)
        if response is not None:  # a thanks address of a link not answered: the form, no thanks
            return _thanks_page(request, invitation, response)
    form = AnswerForm(initial=_initial(request, invitation), survey=invitation.survey)
    return _form_page(request, invitation, form)


@invitation_page
def survey_answer(request, invitation: Invitation):
    """The NPS question for one emailed invitation."""
    state = invitation_state(invitation)
    if state in STATE_PAGES:
        template, status = STATE_PAGES[state]
        return render(request, template, status=status)
    if request.method != "POST":
        return _get_page(request, invitation)
    form = AnswerForm(request.POST, survey=invitation.survey)
    if not form.is_valid():
        return _form_page(request, invitation, form, status=400)
    data = form.cleaned_data
    try:
        submitted = response_submit(
            invitation=invitation,
            score=data["score"],
            reason=data.get("reason", "").strip(),
            suggestion=data.get("suggestion", "").strip(),
        )
    except ResponseClosed as exc:  # expired or closed between our check and the row lock
        template, status = STATE_PAGES[exc.state]
        return render(request, template, status=status)
    return _thanks_redirect(request, submitted.outcome)


# CSRF-exempt on purpose, and only this view: RFC 8058 one-click unsubscribes arrive as a POST
# of "List-Unsubscribe=One-Click" from the mail provider, with no cookie and no CSRF token. The
# unguessable token in the path is the credential, and the only thing a forged POST could do is
# opt that one customer out of surveys, which is what the link's holder may do anyway.
@csrf_exempt
@unsubscribe_page
def survey_unsubscribe(request, invitation: Invitation):
    """Opt out of every survey: GET confirms, POST (a form or a one-click client) acts."""
    if request.method != "POST":
        return render(request, "surveys/public/unsubscribe.html")
    invitation_unsubscribe(invitation=invitation)
    return render(request, "surveys/public/unsubscribed.html")
