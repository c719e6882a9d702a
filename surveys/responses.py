"""Answers from the public survey page (SPEC §4): finding an invitation by token, its state,
storing or editing the one response, and opting out.

States of an invitation as its page sees them:

- open: not answered, not expired: the form.
- editable: answered less than SURVEY_EDIT_WINDOW_HOURS ago: the form again, filled in; a POST
  updates the response (simple-history keeps the previous version). The same answer sent again
  (a resent form, "Update" with nothing changed) writes nothing: no new version, no alert.
- used: answered longer ago: "already answered", nothing changes.
- expired: never answered and past its expiry: "this link has expired", nothing changes.

One response per invitation: `response_submit` locks the invitation row (a first answer by the
conditional UPDATE that marks it responded, anything else by SELECT ... FOR UPDATE), so two
simultaneous POSTs on one token run one after the other and the second one edits what the first
stored; the OneToOne constraint on Response catches any writer that skips the lock.
"""

import datetime as dt
import logging
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounting.models import Customer

from .emails import invitation_language
from .models import (
    DEFAULT_IMPROVE_PROMPT,
    DEFAULT_QUESTION,
    DEFAULT_REASON_PROMPT,
    Invitation,
    InvitationState,
    Response,
    ResponseCategory,
    ResponseSource,
    Survey,
    category_for,
    hash_token,
)
from .selectors import DELIVERED_IF_ANONYMOUS

logger = logging.getLogger(__name__)

# Marked for makemessages: the model keeps the English defaults, and a survey whose wording was
# left unchanged is shown in the customer's language (an edited wording is shown as written).
DEFAULT_WORDING = {
    DEFAULT_QUESTION: gettext_noop("How likely are you to recommend {company} to a friend or colleague?"),
    DEFAULT_REASON_PROMPT: gettext_noop("What is the most important reason for your score?"),
    DEFAULT_IMPROVE_PROMPT: gettext_noop("What could we do to improve?"),
}

# Tokens are 43 URL-safe characters; anything much longer is not worth hashing.
MAX_TOKEN_LENGTH = 100


class InvitationPageState:
    OPEN, EDITABLE, USED, EXPIRED = "open", "editable", "used", "expired"


class AnswerOutcome:
    """What a submitted answer did to the invitation's one response."""

    CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class SubmittedAnswer(NamedTuple):
    response: Response
    outcome: str  # an AnswerOutcome


class ResponseClosed(ValidationError):
    """The invitation no longer takes an answer (expired, or answered outside the edit window)."""

    def __init__(self, state: str):
        super().__init__(f"This link is {state}.", code=state)
        self.state = state


def wording(text: str) -> str:
    """A survey's question or prompt in the active language when it is the default wording."""
    if text in DEFAULT_WORDING:
        text = gettext(DEFAULT_WORDING[text])
    return text.replace("{company}", settings.COMPANY_NAME)


def survey_question(survey: Survey) -> str:
    return wording(survey.question)


# What the public pages and the answer read: selecting every column of the three tables cost more
# in query building than the lookup itself (bench/answer_load.py).
PAGE_FIELDS = (
    "id", "survey_id", "customer_id", "state", "responded_at", "expires_at", "touchpoint", "language",
    "survey__question", "survey__reason_prompt", "survey__improve_prompt", "survey__language",
    "survey__anonymous", "customer__language", "customer__segment", "customer__survey_opt_out",
)


def invitation_find(token: str) -> Invitation | None:
    """The invitation for a token, or None for unknown and malformed tokens alike.

    A suppressed invitation was never emailed, so no link to it exists: it is "not found" too, as
    is one of a customer whose personal data was erased (accounting.erasure): its link opens nothing.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = (
        Invitation.objects.select_related("survey", "customer")
        .only(*PAGE_FIELDS)
        .exclude(state=InvitationState.SUPPRESSED)
        .filter(token_hash=hash_token(token), customer__erased_at__isnull=True)
        .order_by()[:1]  # unique: no need for the default ordering's sort
    )
    return found[0] if found else None


def edit_deadline(invitation: Invitation) -> dt.datetime | None:
    if invitation.responded_at is None:
        return None
    return invitation.responded_at + dt.timedelta(hours=settings.SURVEY_EDIT_WINDOW_HOURS)


def invitation_state(invitation: Invitation, *, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if invitation.responded_at is not None or invitation.state == InvitationState.RESPONDED:
        deadline = edit_deadline(invitation)
        return InvitationPageState.EDITABLE if deadline and now < deadline else InvitationPageState.USED
    if invitation.state == InvitationState.EXPIRED or (
        invitation.expires_at is not None and now >= invitation.expires_at
    ):
        return InvitationPageState.EXPIRED
    return InvitationPageState.OPEN


def invitation_response(invitation: Invitation) -> Response | None:
    if invitation.responded_at is None and invitation.state != InvitationState.RESPONDED:
        return None  # the common case on the page: not answered, no query
    try:
        return invitation.response
    except Response.DoesNotExist:
        return None


def response_submit(
    *, invitation: Invitation, score: int, reason: str = "", suggestion: str = ""
) -> SubmittedAnswer:
    """Store the answer to an invitation, or edit it within the edit window; an edit that changes
    nothing is not saved. Returns the response and what was done to it.

    Raises ResponseClosed (nothing written) when the invitation is expired or its window closed.
    """
    answer = {"score": score, "reason": reason, "suggestion": suggestion}
    try:
        return _submit(invitation, answer, look_up=False)
    except IntegrityError:
        # A writer that skipped the row lock (an import, the API) stored a response between our
        # read and our insert. Our transaction rolled back whole; redo it as an edit of that row.
        logger.info("Invitation %s was answered concurrently; editing that answer", invitation.pk)
        return _submit(invitation, answer, look_up=True)


# The columns the answer needs; the page already loaded the survey and the customer.
LOCKED_FIELDS = ("id", "survey_id", "customer_id", "state", "responded_at", "expires_at", "touchpoint", "language")


def _submit(invitation: Invitation, answer: dict, *, look_up: bool) -> SubmittedAnswer:
    with transaction.atomic():
        detractor = category_for(answer["score"]) == ResponseCategory.DETRACTOR
        if not look_up and _claim_open(invitation):
            response = _response_create(invitation, answer, at=invitation.responded_at, mark=False, alert=detractor)
            if detractor:
                _alert_on_commit(response)
            return SubmittedAnswer(response, AnswerOutcome.CREATED)
        # A customer whose personal data was erased since the page read the invitation (accounting.
        # erasure) stores no answer: its link opens nothing now. The join locks the customer too.
        locked = (
            Invitation.objects.select_for_update()
            .only(*LOCKED_FIELDS)
            .filter(pk=invitation.pk, customer__erased_at__isnull=True)
            .first()
        )
        if locked is None:
            raise ResponseClosed(InvitationPageState.EXPIRED)
        locked.survey, locked.customer = invitation.survey, invitation.customer
        state = invitation_state(locked)
        if state in (InvitationPageState.EXPIRED, InvitationPageState.USED):
            raise ResponseClosed(state)
        # Not answered yet: no row to look for (one round trip less on the common path).
        existing = _existing_response(locked) if look_up or state == InvitationPageState.EDITABLE else None
        # An alert for each answer that becomes a detractor's, not for edits that stay one.
        alert = detractor and (existing is None or existing.category != ResponseCategory.DETRACTOR)
        if existing is None:
            response, outcome = _response_create(locked, answer, alert=alert), AnswerOutcome.CREATED
        elif _answer_unchanged(existing, answer):
            # A resent form: another history version and a new updated_at would record an edit
            # that never was (and an unchanged detractor's answer has had its alert already).
            response, outcome, alert = existing, AnswerOutcome.UNCHANGED, False
        else:
            response, outcome = _response_update(existing, answer, alert=alert), AnswerOutcome.UPDATED
        if existing is not None and locked.responded_at is None:
            _invitation_mark_responded(locked, existing.answered_at)  # stored by a writer that left it as it was
        if alert:
            _alert_on_commit(response)
    return SubmittedAnswer(response, outcome)


def _claim_open(invitation: Invitation) -> bool:
    """Mark an open invitation responded in one conditional UPDATE, which also locks its row.

    The common case (a first answer) so needs no separate SELECT ... FOR UPDATE. Anything else
    (answered, expired, closed meanwhile) matches no row and takes the locked path.
    """
    now = timezone.now()
    claimed = (
        Invitation.objects.filter(pk=invitation.pk, responded_at__isnull=True)
        .exclude(state__in=[InvitationState.RESPONDED, InvitationState.EXPIRED])
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        # Erased since the page was read: the locked path says so. EXISTS, not a join: still one UPDATE.
        .filter(Exists(Customer.objects.filter(pk=OuterRef("customer_id"), erased_at__isnull=True)))
        .update(state=InvitationState.RESPONDED, responded_at=now, updated_at=_answered_updated_at(invitation, now))
    )
    if claimed:
        invitation.state, invitation.responded_at = InvitationState.RESPONDED, now
    return bool(claimed)


def _existing_response(invitation: Invitation) -> Response | None:
    return Response.objects.filter(invitation=invitation).first()


def _response_create(
    invitation: Invitation, answer: dict, *, alert: bool, at: dt.datetime | None = None, mark: bool = True
) -> Response:
    now = at or timezone.now()
    response = Response.objects.create(
        alert_due=alert,
        alert_enqueued_at=now if alert else None,
        invitation=invitation,
        survey_id=invitation.survey_id,
        customer_id=invitation.customer_id,
        answered_at=now,
        touchpoint=invitation.touchpoint,
        segment=invitation.customer.segment,
        language=invitation_language(invitation),
        source=ResponseSource.WEB,
        **answer,
    )
    if mark:
        _invitation_mark_responded(invitation, now)
    return response


def _invitation_mark_responded(invitation: Invitation, at: dt.datetime) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        state=InvitationState.RESPONDED, responded_at=at, updated_at=_answered_updated_at(invitation, timezone.now())
    )
    invitation.state = InvitationState.RESPONDED
    invitation.responded_at = at


def _answered_updated_at(invitation: Invitation, now: dt.datetime):
    """The row's updated_at once answered, in the UPDATE that marks it responded: `now`. But an
    anonymous survey's row that reads "delivered" already reads so still, and its answer must not
    set it apart from the unanswered ones: it keeps its updated_at (decided on the row as it is)."""
    if not invitation.survey.anonymous:
        return now
    return Case(When(DELIVERED_IF_ANONYMOUS, then=F("updated_at")), default=Value(now))


def _answer_unchanged(response: Response, answer: dict) -> bool:
    return all(getattr(response, field) == value for field, value in answer.items())


def _response_update(response: Response, answer: dict, *, alert: bool) -> Response:
    for field, value in answer.items():
        setattr(response, field, value)
    fields = [*answer, "updated_at"]  # save() adds "category"
    if alert:  # a new alert: both of its parts are to be delivered again
        response.alert_due, response.alert_enqueued_at = True, timezone.now()
        response.alert_emailed_at = response.alert_posted_at = None
        fields += ["alert_due", "alert_enqueued_at", "alert_emailed_at", "alert_posted_at"]
    response.save(update_fields=fields)
    return response


def _alert_on_commit(response: Response) -> None:
    """Hand the alert to the broker once the answer is committed (it is due in the row already)."""
    from .alerts import alert_enqueue

    response_id = response.pk
    transaction.on_commit(lambda: alert_enqueue(response_id))


def invitation_unsubscribe(*, invitation: Invitation) -> Customer:
    """Opt the invitation's customer out of every future survey. Idempotent."""
    Customer.objects.filter(pk=invitation.customer_id, survey_opt_out=False).update(
        survey_opt_out=True, updated_at=timezone.now()
    )
    customer = invitation.customer
    customer.survey_opt_out = True
    return customer
