"""The survey invitation email: subject, text and HTML from the template triple, one language.

Works for an unsaved invitation too (the staff UI previews the email with it): everything is read
from the invitation's survey, customer and token salt, nothing from the database.
"""

import math
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.html import escape

from .models import DEFAULT_QUESTION, Invitation

SCORES = range(11)


def _customer(invitation: Invitation):
    # A preview's made-up customer is unsaved (no id) but set on the invitation all the same.
    if invitation.customer_id or Invitation.customer.is_cached(invitation):
        return invitation.customer
    return None


def invitation_language(invitation: Invitation) -> str:
    """The language of the email, its reminder and the answer page: the one fixed when the
    invitation was made (the survey's language if it has one, else the customer's, SPEC §4), so
    a customer who changes language later still gets one language throughout; for an invitation
    without one (a preview), the survey's, else the customer's."""
    codes = {code for code, _name in settings.LANGUAGES}
    customer = _customer(invitation)
    for language in (invitation.language, invitation.survey.language, customer.language if customer else ""):
        if language in codes:
            return language
    return settings.LANGUAGE_CODE


def _public_url(name: str, token: str, fallback: str) -> str:
    # The public views are another module's; the SPEC §7 paths are the contract if they are absent.
    try:
        path = reverse(name, args=[token])
    except NoReverseMatch:
        path = fallback
    return settings.SITE_URL + path


def answer_url(token: str) -> str:
    return _public_url("survey-answer", token, f"/s/{token}/")


def unsubscribe_url(token: str) -> str:
    return _public_url("survey-unsubscribe", token, f"/s/{token}/unsubscribe/")


# Rendering three templates is the costliest step of a send. They are rendered once per survey,
# language and kind of email with these markers, then each message substitutes its own token and
# name (the token first, so a name can never smuggle in a link).
TOKEN_MARK = "TOKEN-5f0c2e7a-MARK"  # noqa: S105 - a marker, not a secret
NAME_MARK = "NAME-5f0c2e7a-MARK"
_rendered: dict = {}


def _context(survey, *, has_name: bool, reminder: bool, days_valid: int) -> dict:
    url = answer_url(TOKEN_MARK)
    return {
        "company_name": settings.COMPANY_NAME,
        "customer_name": NAME_MARK if has_name else "",
        # The default wording is translated by the templates; a custom question is shown as written.
        "custom_question": "" if survey.question == DEFAULT_QUESTION else survey.question_text,
        "scores": [{"score": n, "url": f"{url}?score={n}"} for n in SCORES],
        "unsubscribe_url": unsubscribe_url(TOKEN_MARK),
        "reminder": reminder,
        "expiry_days": days_valid,
    }


def _render(survey, language: str, *, has_name: bool, reminder: bool, days_valid: int) -> tuple[str, str, str]:
    context = _context(survey, has_name=has_name, reminder=reminder, days_valid=days_valid)
    with translation.override(language):
        return (
            " ".join(render_to_string("emails/survey_invitation.subject.txt", context).split()),  # one line
            render_to_string("emails/survey_invitation.txt", context),
            render_to_string("emails/survey_invitation.html", context),
        )


def _templates(
    survey, language: str, *, has_name: bool, reminder: bool, days_valid: int, preview: bool
) -> tuple[str, str, str]:
    options = {"has_name": has_name, "reminder": reminder, "days_valid": days_valid}
    if preview or survey.pk is None:  # maybe a form's unsaved wording under the saved survey's key
        return _render(survey, language, **options)
    key = (survey.pk, survey.updated_at, language, *options.values(), settings.SITE_URL, settings.COMPANY_NAME)
    if key not in _rendered:
        if len(_rendered) > 500:
            _rendered.clear()
        _rendered[key] = _render(survey, language, **options)
    return _rendered[key]


def _days_valid(invitation: Invitation, *, reminder: bool) -> int:
    """The days the link still works, as the email says: a reminder tells the days its link has
    left (fixed when the first email went, whatever the survey's expiry became since)."""
    if not reminder or invitation.expires_at is None:
        return invitation.survey.expiry_days
    # On the company's wall clock, as the expiry was set: a daylight-saving change in between
    # adds or removes an hour, not a day.
    wall = timezone.localtime(invitation.expires_at).replace(tzinfo=None) - timezone.localtime().replace(tzinfo=None)
    return max(1, math.ceil(wall.total_seconds() / 86400))


def _message_id(from_email: str) -> str:
    domain = parseaddr(from_email)[1].rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def invitation_message(
    invitation: Invitation, *, reminder: bool = False, preview: bool = False
) -> EmailMultiAlternatives:
    """The multipart invitation (or its one reminder), with RFC 8058 one-click unsubscribe headers.

    `preview`: for the staff UI, rendered afresh from the survey as given, saved or not.
    """
    customer = _customer(invitation)
    name = customer.name if customer else ""
    subject, text, html = _templates(
        invitation.survey, invitation_language(invitation), has_name=bool(name), reminder=reminder,
        days_valid=_days_valid(invitation, reminder=reminder), preview=preview,
    )
    token = invitation.token
    text = text.replace(TOKEN_MARK, token).replace(NAME_MARK, name)
    html = html.replace(TOKEN_MARK, token).replace(NAME_MARK, escape(name))
    from_email = invitation.survey.from_email
    address = invitation.email or (customer.email if customer else "")
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email,
        to=[address],
        headers={
            "Message-ID": _message_id(from_email),
            "List-Unsubscribe": f"<{unsubscribe_url(token)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        },
    )
    message.attach_alternative(html, "text/html")
    # Anymail ESP backends pass this on and send it back in bounce webhooks; SMTP ignores it.
    message.metadata = {"invitation_id": invitation.pk}
    return message
