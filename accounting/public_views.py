"""Public pages reached from emails, without login: the acquisition-reason answer page.

`/why/<token>/`, for anyone holding the emailed link:

- open link: GET shows the form (200) and writes nothing. A valid POST stores the answer and
  redirects (303) to `?thanks=recorded`, a GET that thanks: a reload or the back button never
  posts again. An invalid POST shows the form again with its errors (400, as every staff form
  answers).
- already answered: "you have already answered, thank you", status 200, on GET and POST alike;
  nothing changes. Its `?thanks=recorded` GET is the thank-you page; that of a link not answered
  yet shows the form: it never thanks for what was not sent.
- expired: "this link has expired", status 410, on GET and POST alike; nothing changes.
- unknown or malformed token: one fixed "link not found" page, status 404, byte for byte the same.

An answered link answers 200, not 410: the customer did nothing wrong (they or their mail
scanner are reopening their own link) and the page thanks them. An expired link answers 410: the
resource is gone for good. Unknown and malformed tokens share one body, so a response never tells
a guesser whether a token ever existed.

A GET never writes: mail scanners open every link before the customer does. Every response of the
token page carries `Referrer-Policy: same-origin`, `Cache-Control: no-store` and
`X-Robots-Tag: noindex`, so the token in the path leaks neither to other sites, nor to caches,
nor to search engines. Pages speak the customer's language, whatever the browser says.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from cxplatform.token_pages import (
    THANKS_PARAM,
    TextareaField,
    link_not_found,
    over_public_limit,
    private,
    rate_limited,
    thanks_redirect,
)

from .models import REASON_TEXT_MAX_LENGTH, ReasonCategory, ReasonRequest
from .services import (
    ReasonRequestState,
    reason_request_answer,
    reason_request_find,
    reason_request_state,
)

TEMPLATES = {
    ReasonRequestState.ANSWERED: ("accounting/public/reason_answered.html", 200),
    ReasonRequestState.EXPIRED: ("accounting/public/reason_expired.html", 410),
}


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        # Seeded labels translate when the catalogue has them; admin-made ones show as written.
        return gettext(obj.label)


class ReasonAnswerForm(forms.Form):
    reason = CategoryChoiceField(
        queryset=ReasonCategory.objects.filter(is_active=True).order_by("order", "label"),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "required": _("Please choose one reason."),
            "invalid_choice": _("Please choose one of the listed reasons."),
        },
    )
    reason_text = TextareaField(
        required=False,
        max_length=REASON_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        reason = data.get("reason")
        text = data.get("reason_text", "").strip()
        if reason and reason.slug == ReasonCategory.OTHER_SLUG and not text and "reason_text" not in self.errors:
            self.add_error("reason_text", gettext("Please tell us what the other reason is."))
        if reason and reason.slug != ReasonCategory.OTHER_SLUG:
            # The box is only shown under "Other": text typed there before choosing another reason
            # is still posted, and must not be stored as if it explained that one.
            data["reason_text"] = ""
        return data


def _state_page(request, state):
    template, status = TEMPLATES[state]
    return render(request, template, status=status)


def _answer(request, token, reason_request):
    state = reason_request_state(reason_request)
    if state == ReasonRequestState.ANSWERED and request.method != "POST" and THANKS_PARAM in request.GET:
        return render(request, "accounting/public/reason_thanks.html")
    if state != ReasonRequestState.OPEN:
        return _state_page(request, state)
    form = ReasonAnswerForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            reason_request_answer(
                token=token,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["reason_text"],
            )
        except ValidationError as exc:
            # Another tab or a reclassified category got there between our check and the lock.
            if getattr(exc, "code", None) in TEMPLATES:
                return _state_page(request, exc.code)
            form.add_error(None, exc)
        else:
            return thanks_redirect(request)
    other = ReasonCategory.objects.filter(slug=ReasonCategory.OTHER_SLUG, is_active=True).first()
    context = {"form": form, "other_value": str(other.pk) if other else ""}
    # A POST that reaches here was refused (its errors are on the form): a client error.
    status = 400 if form.is_bound else 200
    return render(request, "accounting/public/reason_form.html", context, status=status)


def reason_answer(request, token: str):
    # Counted before anything else, the method check included, as on the survey pages.
    if over_public_limit(request):
        return rate_limited(request)
    return _reason_answer(request, token)


@require_http_methods(["GET", "HEAD", "POST"])
def _reason_answer(request, token: str):
    """The "why did you choose us?" page for one emailed link."""
    reason_request = reason_request_find(token)
    if reason_request is None:
        return link_not_found(request)
    language = reason_request.customer.language
    with translation.override(language):
        try:
            response = _answer(request, token, reason_request)
        except ReasonRequest.DoesNotExist:  # deleted between the lookup and the answer
            response = None
    if response is None:
        return link_not_found(request)
    response["Content-Language"] = language
    return private(response)
