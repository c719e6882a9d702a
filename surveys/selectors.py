"""Reads of the surveys staff UI and API: permission-checked fetches, progress, response listings.

Anonymous surveys (SPEC §1): nobody, admins included, may learn which customer gave which answer.
Every read that could link the two goes through `response_identity` or `invitation_state_shown`,
so the UI, the API, the CSV export and the admin hide the same things the same way (the export,
reading plain values for speed, empties the same columns itself in `response_export_rows`).
"""

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounting.selectors import customer_segments
from reports.csv_export import csv_datetime_text
from reports.segments import nps_segment_known

from .alerts import ALERT_READER_PERMISSION
from .models import (
    DELIVERED_STATES,
    Invitation,
    InvitationState,
    Launch,
    Response,
    ResponseCategory,
    SuppressionReason,
    Survey,
    SurveyKind,
    SurveyStatus,
)
from .sending import INTERRUPTED

# What an anonymous survey's invitation shows instead of sent / responded / expired: telling those
# apart would tell which invitation, hence which customer, answered.
DELIVERED_LABEL = "delivered"


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


# --- Permission-checked fetches ------------------------------------------------------------------


def access_survey(user, pk: int, *, perm: str = "surveys.view_survey") -> Survey:
    """The survey `pk` if `user` holds `perm`: 403 without it, 404 when unknown."""
    _require(user, perm)
    return get_object_or_404(Survey.objects.select_related("owner"), pk=pk)


@contextmanager
def survey_kept():
    """Around a service that locks the survey row (launch, invite, retry, trigger): a survey
    deleted while it waited for the lock is gone, a 404 like an unknown one, not a 500."""
    try:
        yield
    except Survey.DoesNotExist as exc:
        raise Http404("No such survey.") from exc


def access_response(user, pk: int, *, perm: str = "surveys.view_response") -> Response:
    _require(user, perm)
    queryset = Response.objects.select_related("survey", "customer", "invitation", "followed_up_by")
    return get_object_or_404(queryset, pk=pk)


# --- Progress ------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Where a survey's invitations stand; every audience member has a row, sent or suppressed."""

    audience: int = 0
    queued: int = 0
    sent: int = 0
    responded: int = 0
    failed: int = 0
    bounced: int = 0
    expired: int = 0
    suppressed: int = 0
    opted_out: int = 0
    throttled: int = 0
    no_email: int = 0
    bounced_before: int = 0
    reminded: int = 0  # reminders sent, whatever the invitation's state since

    @property
    def delivered(self) -> int:
        return self.sent + self.responded + self.expired

    @property
    def response_rate(self) -> float | None:
        """responded / delivered (SPEC §5); None before anything was delivered."""
        return self.responded / self.delivered if self.delivered else None

    @property
    def response_rate_exact(self) -> Decimal | None:
        """The same rate as an exact Decimal fraction, for the pages: shown with the reports'
        `percent` filter (rounded once, half away from zero), 23 of 80 reads 28.8 % as on the
        NPS dashboard, where the float (0.28749999...) read 28.7 %. The API keeps `response_rate`."""
        return Decimal(self.responded) / self.delivered if self.delivered else None

    @property
    def in_flight(self) -> bool:
        return self.queued > 0

    def suppressed_by_reason(self) -> list[tuple[str, int]]:
        return [(label, getattr(self, value)) for value, label in SuppressionReason.choices]


def _progress_counts() -> dict[str, Count]:
    """COUNT(... FILTER ...) of invitations per progress field."""

    def count(**condition) -> Count:
        return Count("pk", filter=Q(**condition))

    states = InvitationState
    counts = {
        "audience": Count("pk"),
        # A row claimed by a worker ("sending") is still on its way: shown with the queue.
        "queued": count(state__in=[states.QUEUED, states.SENDING]),
        "sent": count(state=states.SENT),
        "responded": count(state=states.RESPONDED),
        "failed": count(state=states.FAILED),
        "bounced": count(state=states.BOUNCED),
        "expired": count(state=states.EXPIRED),
        "suppressed": count(state=states.SUPPRESSED),
        "reminded": count(reminder_sent_at__isnull=False),
    }
    for reason in SuppressionReason.values:
        counts[reason] = count(state=states.SUPPRESSED, suppression_reason=reason)
    return counts


def survey_progress(survey: Survey) -> Progress:
    """One aggregate query over the survey's invitations."""
    return Progress(**Invitation.objects.filter(survey=survey).aggregate(**_progress_counts()))


def survey_sending_now(survey: Survey) -> bool:
    """Whether a worker is sending, or is about to send, some of the survey's invitations: queued
    rows that are due (not a trigger delayed for days), of a survey that is not closed."""
    if survey.status == SurveyStatus.CLOSED:
        return survey.invitations.filter(state=InvitationState.SENDING).exists()
    due = Q(state=InvitationState.SENDING) | Q(state=InvitationState.QUEUED, send_after__lte=timezone.now())
    return survey.invitations.filter(due).exists()


def launch_progress(launch: Launch) -> Progress:
    """The same counts over one launch's invitations."""
    return Progress(**launch.invitations.aggregate(**_progress_counts()))


def alert_owner_choices() -> QuerySet:
    """The users a survey's detractor alerts can go to: active, and allowed to see responses."""
    app_label, codename = ALERT_READER_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model().objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=permission) | Q(user_permissions__in=permission))
        .distinct()
        .order_by("username")
    )


def survey_list() -> QuerySet:
    """Surveys by name with their last launch (a subquery). No invitation is joined, so the
    paginator counts surveys alone; `with_progress` adds the progress of one page's surveys."""
    last_launch = Launch.objects.filter(survey=OuterRef("pk")).order_by("-launched_at").values("launched_at")[:1]
    return Survey.objects.select_related("owner").annotate(last_launched_at=Subquery(last_launch)).order_by("name")


def with_progress(surveys) -> list[Survey]:
    """Attach `progress` to each survey of a page of `survey_list()`: one aggregate query over the
    invitations of these surveys only."""
    surveys = list(surveys)
    rows = (
        Invitation.objects.filter(survey__in=[survey.pk for survey in surveys])
        .order_by()
        .values("survey")
        .annotate(**_progress_counts())
    )
    by_survey = {row.pop("survey"): Progress(**row) for row in rows}
    for survey in surveys:
        survey.progress = by_survey.get(survey.pk, Progress())
    return surveys


def survey_launches(survey: Survey, *, limit: int = 20) -> list[Launch]:
    return list(survey.launches.select_related("launched_by")[:limit])


def survey_interrupted_count(survey: Survey) -> int:
    """Failed rows the sweeper found mid-send: their email may have arrived."""
    return survey.invitations.filter(state=InvitationState.FAILED, last_error=INTERRUPTED).count()


def survey_invitations(survey: Survey) -> QuerySet:
    """A survey's invitations for its page; anonymous surveys show aggregates only, not this."""
    if survey.anonymous:
        return Invitation.objects.none()
    return survey.invitations.select_related("customer").order_by("-created_at", "-id")


def invitation_state_shown(invitation: Invitation) -> str:
    """An anonymous survey's delivered rows read "delivered", and so do its interrupted ones: their
    email may have arrived and their link takes an answer, which turns one of them "responded"; its
    unanswered twins reading "failed" would name who answered."""
    interrupted = invitation.state == InvitationState.FAILED and invitation.last_error == INTERRUPTED
    if invitation.survey.anonymous and (invitation.state in DELIVERED_STATES or interrupted):
        return DELIVERED_LABEL
    return invitation.state


# The rows of an anonymous survey that `invitation_state_shown` shows as "delivered", on the row itself.
DELIVERED_IF_ANONYMOUS = Q(state__in=DELIVERED_STATES) | Q(state=InvitationState.FAILED, last_error=INTERRUPTED)


def invitations_in_state_shown(invitations: QuerySet, value: str) -> QuerySet:
    """The API's and the admin's state filter: the rows `invitation_state_shown` shows as `value`
    (DELIVERED_LABEL takes named surveys' sent, responded and expired rows too)."""
    anonymous_delivered = Q(survey__anonymous=True) & DELIVERED_IF_ANONYMOUS
    if value == DELIVERED_LABEL:
        return invitations.filter(Q(state__in=DELIVERED_STATES) | anonymous_delivered)
    if not value:
        return invitations
    return invitations.filter(state=value).exclude(anonymous_delivered)


# --- Responses -----------------------------------------------------------------------------------


@dataclass
class ResponseFilters:
    survey: Survey | None = None
    kind: str = ""  # a SurveyKind value: one series, as the NPS reports count them
    band: str = ""  # a ResponseCategory value
    touchpoint: str = ""
    segment: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    search: str = ""
    followed_up: bool | None = None


def response_list(filters: ResponseFilters | None = None) -> QuerySet:
    """Responses, newest first, with what the list shows joined in."""
    f = filters or ResponseFilters()
    responses = Response.objects.select_related("survey", "customer", "followed_up_by")
    conditions = {
        "survey": f.survey,
        "survey__kind": f.kind if f.kind in SurveyKind.values else None,
        "category": f.band if f.band in ResponseCategory.values else None,
        "touchpoint": f.touchpoint or None,
        "segment": f.segment or None,
        "answered_at__date__gte": f.date_from,
        "answered_at__date__lte": f.date_to,
        "followed_up_at__isnull": None if f.followed_up is None else not f.followed_up,
    }
    responses = responses.filter(**{k: v for k, v in conditions.items() if v is not None})
    responses = responses_shown_one_by_one(responses, touchpoint=f.touchpoint, segment=f.segment)
    if f.search:
        responses = responses.filter(Q(reason__ifind=f.search) | Q(suggestion__ifind=f.search))
    return responses.order_by("-answered_at", "-id")


def responses_shown_one_by_one(responses: QuerySet, *, touchpoint: str | None = None,
                               segment: str | None = None) -> QuerySet:
    """The answers a page or a CSV may list one by one under these filters: an anonymous survey's
    answer matched by a touchpoint or segment would be tied to it (a segment may hold one customer).
    Counts still take them all."""
    if touchpoint or segment:
        return responses.filter(survey__anonymous=False)
    return responses


# How many of the latest answers the touchpoint field's suggestions come from: a bounded read of
# the answered_at index, whatever the number of answers.
TOUCHPOINT_SUGGESTIONS_FROM = 2000


def response_touchpoint_suggestions() -> list[str]:
    """The touchpoint field's suggestions: the touchpoints of named surveys' answers (the only ones
    it matches) among the latest answers, so a new one shows as soon as it is answered. Not every
    touchpoint ever answered: listing those would read every answer on each view (0.6 s at 3M);
    an older touchpoint is typed, as on the NPS dashboard."""
    latest = Response.objects.order_by("-answered_at").values_list("touchpoint", "survey__anonymous")
    return sorted({touchpoint for touchpoint, anonymous in latest[:TOUCHPOINT_SUGGESTIONS_FROM]
                   if touchpoint and not anonymous})


def response_segment_known(segment: str) -> bool:
    """Whether the segment filter takes `segment`: a customer's, or a past one copied onto
    invitations and answers (a bookmark, a customer moved since), as the NPS dashboard's."""
    return nps_segment_known(segment)


def response_segments(accepted: str = "") -> list[str]:
    """The segment filter's choices: customers' current segments, plus `accepted`, a past segment
    the form let through. Not every segment copied onto answers, for the reason nps_segments gives:
    listing those would read every answer on each view."""
    segments = customer_segments()
    if accepted and accepted not in segments:
        segments = sorted([*segments, accepted])
    return segments


@dataclass(frozen=True)
class Identity:
    """Who answered, as far as the reader may know; all empty for an anonymous survey.

    The touchpoint, segment and language are the customer's too: an invitation lists its customer
    with its touchpoint, and a segment may hold a single customer, so either names the author.
    """

    customer_id: int | None = None
    external_id: str = ""
    name: str = ""
    email: str = ""
    invitation_id: int | None = None
    reference: str = ""
    touchpoint: str = ""
    segment: str = ""
    language: str = ""

    @property
    def hidden(self) -> bool:
        return self.customer_id is None


def response_identity(response: Response, *, with_invitation: bool = False) -> Identity:
    """The customer behind a response, or nothing at all for an anonymous survey."""
    if response.survey.anonymous:
        return Identity()
    customer = response.customer
    invitation = response.invitation if with_invitation else None
    return Identity(
        customer_id=customer.pk,
        external_id=customer.external_id,
        name=customer.name,
        email=invitation.email if invitation else customer.email,
        invitation_id=response.invitation_id,
        reference=invitation.reference if invitation else "",
        touchpoint=response.touchpoint,
        segment=response.segment,
        language=response.language,
    )


EXPORT_HEADER = [
    "answered_at", "survey", "survey_type", "score", "category", "customer", "customer_name",
    "touchpoint", "segment", "reason", "suggestion", "source", "followed_up_at", "follow_up_note",
]


# What response_export_rows reads of each answer: plain values of exactly these columns. Building a
# Response with its survey, customer and follow-up user a row held the export to ~6,000 rows/s.
EXPORT_COLUMNS = (
    "answered_at", "survey__name", "survey__kind", "survey__anonymous", "score", "category",
    "customer__external_id", "customer__name", "touchpoint", "segment", "reason", "suggestion", "source",
    "followed_up_at", "follow_up_note",
)


def response_export_rows(responses: QuerySet):
    """CSV rows of `response_list`; the customer, touchpoint and segment columns stay empty for
    anonymous surveys, the columns `response_identity` empties (it would need a model instance)."""
    local_time = csv_datetime_text()
    for (answered_at, survey, kind, anonymous, score, category, external_id, name, touchpoint, segment, reason,
         suggestion, source, followed_up_at, follow_up_note) in responses.values_list(*EXPORT_COLUMNS).iterator(
            chunk_size=2000):
        if anonymous:
            external_id = name = touchpoint = segment = ""
        yield [
            local_time(answered_at), survey, kind, score, category, external_id, name, touchpoint, segment,
            reason, suggestion, source, local_time(followed_up_at), follow_up_note,
        ]
