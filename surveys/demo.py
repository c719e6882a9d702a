"""Demo surveys for `manage.py demo`: invitations, responses and verbatims over the demo ledger.

The story: a quarterly relationship survey goes to a 40 % sample of the customers active that
quarter. A customer's score leans on what the ledger says they do next: those whose revenue
grows the next quarter mostly answer 9–10, those who leave mostly answer 0–6, so promoters spend
more and churn less (the loyalty economics panel shows it). A transactional survey follows support
tickets and store visits; one store (store-12) coaches its customers for 10s, which the integrity
panel flags. The sample is honest: opted-out, recently surveyed, bounced and email-less customers
are suppressed with their reason, some emails bounce, and most invitations go unanswered.

Drawn from one `random.Random(seed)` in a fixed order over customers sorted by id, so the same
seed gives the same surveys. Written with bulk inserts (no per-row save: tokens and categories are
set here as the model's save() would). A customer's revenue in a quarter the ledger holds only in
part (the data end mid-quarter) counts as for a full one, so the last surveyed quarter tells the
same story as the others.

Every invitation drawn so is dated in the past and has expired. So that the demo leaves a link to
open, `demo_live_invitations` then triggers the transactional survey for a few current customers
through the normal path: queued, and sent by the sending task through EMAIL_BACKEND.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from random import Random

from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Sum
from django.db.models.functions import Lower, TruncQuarter
from django.utils import timezone

from accounting.models import Customer, RevenueEntry

from .launch import invitation_get_or_create_transactional, throttle_start
from .models import (
    AudienceKind,
    Invitation,
    InvitationState,
    Launch,
    LaunchChannel,
    Response,
    ResponseSource,
    SuppressedAddress,
    SuppressionReason,
    Survey,
    SurveyKind,
    category_for,
    hash_token,
    new_token_salt,
    token_from_salt,
)

DEMO_SURVEY_PREFIX = "Demo: "
RELATIONSHIP_NAME = f"{DEMO_SURVEY_PREFIX}quarterly relationship survey"
TRANSACTIONAL_NAME = f"{DEMO_SURVEY_PREFIX}after a support ticket or store visit"
SAMPLE = 0.40
BATCH = 5000
LIVE_SAMPLE = 8

REASONS = {
    "promoter": [
        "Everything just works and support answers within the hour.",
        "Great value for the price, and the team really listens.",
        "I recommended you to two colleagues already.",
        "Reliable, simple and honest billing.",
        "Le service client est excellent et rapide.",
        "Sehr zuverlässig, ich empfehle Sie gerne weiter.",
    ],
    "passive": [
        "Good product, but the price went up this year.",
        "Fine overall; the mobile app could be faster.",
        "It does the job. Nothing special.",
        "Support was helpful but slow to reply.",
    ],
    "detractor": [
        "Billing errors two months in a row and nobody called back.",
        "Too expensive for what we use; we are looking at alternatives.",
        "The outage last month cost us a day of work.",
        "Support closed my ticket without solving it.",
        "Trop cher, et les factures sont incompréhensibles.",
        "Der Support hat mein Problem nicht gelöst.",
    ],
}
SUGGESTIONS = ["Clearer invoices.", "A faster mobile app.", "Keep prices stable.", "Phone support on weekends.", ""]
COACHED = "The cashier asked me to give a 10 please, so here it is."
TOUCHPOINTS = (("support", 0.5), ("store-7", 0.25), ("store-12", 0.25))


def demo_surveys_exist() -> bool:
    return Survey.objects.filter(name__startswith=DEMO_SURVEY_PREFIX).exists()


def other_surveys_of(customers) -> list[str]:
    """Names of surveys not the demo's that invited any of `customers` (a queryset): deleting those
    customers would take these surveys' invitations and answers with them."""
    return list(
        Survey.objects.exclude(name__startswith=DEMO_SURVEY_PREFIX)
        .filter(Exists(Invitation.objects.filter(survey=OuterRef("pk"), customer__in=customers)))
        .order_by("name").values_list("name", flat=True)
    )


@transaction.atomic
def demo_surveys_delete() -> int:
    """Remove the demo surveys with their records: answers, invitations and launches, which never go
    with a survey by accident (PROTECT)."""
    surveys = Survey.objects.filter(name__startswith=DEMO_SURVEY_PREFIX)
    count = surveys.count()
    for model in (Response, Invitation, Launch):
        model.objects.filter(survey__in=surveys).delete()
    surveys.delete()
    return count


@transaction.atomic
def demo_surveys_load(*, customers, seed: int) -> dict:
    """Draw the demo surveys for `customers` (a queryset); returns counts for the summary line."""
    rng = Random(seed * 7919 + 17)
    people = list(customers.order_by("id").only("id", "email", "segment", "language", "survey_opt_out"))
    revenue = _quarterly_revenue(customers)
    quarters = sorted({quarter for by_quarter in revenue.values() for quarter in by_quarter})
    bounced = {c.email.lower() for c in people[::97] if c.email}
    SuppressedAddress.objects.bulk_create(
        [SuppressedAddress(email=email, kind="bounced", detail="demo") for email in sorted(bounced)],
        ignore_conflicts=True,
    )
    relationship = Survey.objects.create(
        name=RELATIONSHIP_NAME, kind=SurveyKind.RELATIONSHIP, status="active", reminder_days=5, expiry_days=30,
        audience=AudienceKind.SAMPLE, sample_percent=Decimal("40"), repeat_days=91,
    )
    transactional = Survey.objects.create(
        name=TRANSACTIONAL_NAME, kind=SurveyKind.TRANSACTIONAL, status="active", expiry_days=14,
    )
    writer = _Writer(rng)
    last_invited: dict[int, dt.datetime] = {}
    for quarter in _surveyed_quarters(quarters, customers):
        following = _next_quarter(quarter)
        sent_at = dt.datetime.combine(quarter + dt.timedelta(days=45), dt.time(9), tzinfo=dt.UTC)
        launch = Launch.objects.create(
            survey=relationship, audience=AudienceKind.SAMPLE, sample_percent=Decimal("40"),
            sample_seed=str(seed), launched_at=sent_at, via=LaunchChannel.COMMAND,
        )
        sample = [c for c in people if revenue[c.id].get(quarter, 0) > 0 and rng.random() < SAMPLE]
        launch.audience_size = len(sample)
        launch.save(update_fields=["audience_size"])
        for customer in sample:
            reason = _suppression(customer, bounced, last_invited, sent_at)
            now_rev = revenue[customer.id].get(quarter, 0)
            # The ledger's last quarter has no next one to lean on: answered as a steady customer.
            next_rev = revenue[customer.id].get(following, 0) if following in quarters else now_rev
            writer.invite(relationship, launch, customer, sent_at, reason, score=_score(rng, now_rev, next_rev))
            if not reason:
                last_invited[customer.id] = sent_at
        for customer in rng.sample(people, k=min(len(people), 120)):
            touchpoint = _pick(rng, TOUCHPOINTS)
            when = sent_at + dt.timedelta(days=rng.randrange(-40, 40), hours=rng.randrange(8))
            score = 10 if touchpoint == "store-12" and rng.random() < 0.85 else _score(rng, 1, rng.choice([0, 1, 2]))
            reason = _suppression(customer, bounced, last_invited, when)
            writer.invite(transactional, None, customer, when, reason, score=score, touchpoint=touchpoint,
                          coached=touchpoint == "store-12")
            if not reason:  # the throttle counts every survey
                last_invited[customer.id] = max(when, last_invited.get(customer.id, when))
    writer.flush()
    return {"surveys": 2, "invitations": writer.invitations, "responses": writer.responses}


def demo_live_invitations(*, customers, seed: int) -> list[Invitation]:
    """Invite a few current customers (LIVE_SAMPLE, drawn with the seed) to the transactional demo
    survey, as after a support ticket today; their emails go out once the transaction commits
    (inline in eager mode)."""
    survey = Survey.objects.get(name=TRANSACTIONAL_NAME)
    candidates = _live_candidates(customers, survey)
    chosen = Random(seed * 7919 + 29).sample(candidates, k=min(LIVE_SAMPLE, len(candidates)))
    with transaction.atomic():
        return [
            invitation_get_or_create_transactional(
                survey=survey, customer=customer, touchpoint="support", reference=f"demo-live-{customer.external_id}",
            )[0]
            for customer in chosen
        ]


def _live_candidates(customers, survey: Survey) -> list[Customer]:
    """Customers billed in the ledger's last month whom the send path would email today: with an
    address that never bounced, not opted out, not invited within the survey's throttle."""
    ledger = RevenueEntry.objects.filter(customer__in=customers.values("pk"))
    last = ledger.aggregate(last=Max("date"))["last"]
    if last is None:
        return []
    recently = Invitation.objects.filter(sent_at__gte=throttle_start(survey.throttle_days, timezone.now()))
    return list(
        customers.filter(pk__in=ledger.filter(date__gte=last.replace(day=1)).values("customer_id"))
        .filter(survey_opt_out=False).exclude(email="")
        .exclude(pk__in=recently.values("customer_id"))
        .alias(address=Lower("email")).exclude(address__in=SuppressedAddress.objects.values("email"))
        .order_by("id").only("id", "external_id")
    )


def _surveyed_quarters(quarters: list[dt.date], customers) -> list[dt.date]:
    """The ledger's quarters the relationship survey ran in: all but the last, unless the ledger
    ends with it whole. The NPS dashboard opens on the last complete quarter: a demo loaded in a
    quarter's first month (the ledger ending with the quarter before) opened it on no answers."""
    if not quarters:
        return []
    last = RevenueEntry.objects.filter(customer__in=customers.values("pk")).aggregate(last=Max("date"))["last"]
    ends_whole = _month_number(last) == _month_number(quarters[-1]) + 2
    return quarters if ends_whole else quarters[:-1]


def _quarterly_revenue(customers) -> dict[int, dict[dt.date, Decimal]]:
    """Each customer's revenue by quarter, as for a full quarter: the ledger's first and last
    quarters may hold one or two months only (`--until 2026-10` loads one month of Q4), and a
    customer billed for one month of three would otherwise look as if they shrank."""
    ledger = RevenueEntry.objects.filter(customer__in=customers.values("pk"))
    span = ledger.aggregate(first=Min("date"), last=Max("date"))
    rows = ledger.annotate(quarter=TruncQuarter("date")).values("customer_id", "quarter").annotate(total=Sum("amount"))
    revenue: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for row in rows:
        quarter = row["quarter"]
        quarter = quarter.date() if isinstance(quarter, dt.datetime) else quarter
        months = _months_loaded(quarter, span["first"], span["last"])
        total = Decimal(row["total"])
        revenue[row["customer_id"]][quarter] = total if months == 3 else total * 3 / months
    return revenue


def _months_loaded(quarter: dt.date, first: dt.date, last: dt.date) -> int:
    """How many of the quarter's three months lie between the ledger's first and last month."""
    start = max(_month_number(quarter), _month_number(first))
    end = min(_month_number(quarter) + 2, _month_number(last))
    return end - start + 1


def _month_number(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _next_quarter(quarter: dt.date) -> dt.date:
    month = quarter.month + 3
    return dt.date(quarter.year + (month > 12), (month - 1) % 12 + 1, 1)


def _suppression(customer: Customer, bounced: set, last_invited: dict, sent_at: dt.datetime) -> str:
    if customer.survey_opt_out:
        return SuppressionReason.OPTED_OUT
    if not customer.email:
        return SuppressionReason.NO_EMAIL
    if customer.email.lower() in bounced:
        return SuppressionReason.BOUNCED_BEFORE
    previous = last_invited.get(customer.id)
    if previous and abs(sent_at - previous) < dt.timedelta(days=90):
        return SuppressionReason.THROTTLED
    return ""


def _score(rng: Random, now_revenue, next_revenue) -> int:
    """Leaning on what the customer does next: grows → promoter, shrinks or leaves → detractor, mostly."""
    now, following = Decimal(now_revenue), Decimal(next_revenue)
    if following <= 0:
        weights = (0.08, 0.07, 0.09, 0.1, 0.12, 0.13, 0.14, 0.11, 0.08, 0.05, 0.03)
    elif following < now * Decimal("0.95"):
        weights = (0.03, 0.03, 0.05, 0.07, 0.09, 0.12, 0.15, 0.17, 0.15, 0.08, 0.06)
    elif following > now * Decimal("1.05"):
        weights = (0.0, 0.0, 0.01, 0.01, 0.02, 0.03, 0.04, 0.08, 0.16, 0.29, 0.36)
    else:
        weights = (0.01, 0.01, 0.02, 0.02, 0.03, 0.05, 0.07, 0.17, 0.24, 0.21, 0.17)
    return rng.choices(range(11), weights=weights)[0]


def _pick(rng: Random, weighted) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights=weights)[0]


class _Writer:
    """Collects invitations and responses and writes them in batches."""

    def __init__(self, rng: Random):
        self.rng = rng
        self.pending: list[tuple[Invitation, Response | None]] = []
        self.invitations = self.responses = 0
        self.loaded_at = timezone.now()

    def invite(self, survey, launch, customer, sent_at, suppressed, *, score, touchpoint="", coached=False):
        salt = new_token_salt()
        invitation = Invitation(
            survey=survey, launch=launch, customer_id=customer.id, email=customer.email, language=customer.language,
            segment=customer.segment, token_salt=salt, token_hash=hash_token(token_from_salt(salt)),
            touchpoint=touchpoint, created_at=sent_at, send_after=sent_at,
        )
        response = None
        if suppressed:
            invitation.state, invitation.suppression_reason = InvitationState.SUPPRESSED, suppressed
        else:
            invitation.sent_at, invitation.expires_at = sent_at, sent_at + dt.timedelta(days=survey.expiry_days)
            draw = self.rng.random()
            if draw < 0.03:
                invitation.state, invitation.bounced_at = InvitationState.BOUNCED, sent_at
            elif draw < 0.03 + (0.55 if survey.kind == SurveyKind.TRANSACTIONAL else 0.38):
                # Never after the load: the last quarter's answers may run into the days just gone.
                answered = min(sent_at + dt.timedelta(hours=self.rng.randrange(1, 24 * 6)), self.loaded_at)
                invitation.state, invitation.responded_at = InvitationState.RESPONDED, answered
                response = self._response(survey, customer, score, answered, touchpoint, coached)
            else:
                expired = invitation.expires_at <= timezone.now()
                invitation.state = InvitationState.EXPIRED if expired else InvitationState.SENT
        self.pending.append((invitation, response))
        if len(self.pending) >= BATCH:
            self.flush()

    def _response(self, survey, customer, score, answered, touchpoint, coached) -> Response:
        category = category_for(score)
        talkative = self.rng.random() < 0.6
        reason = COACHED if coached and score == 10 and self.rng.random() < 0.3 else (
            self.rng.choice(REASONS[category]) if talkative else "")
        return Response(
            survey=survey, customer_id=customer.id, score=score, category=category, reason=reason,
            suggestion=self.rng.choice(SUGGESTIONS) if talkative else "", answered_at=answered,
            touchpoint=touchpoint, segment=customer.segment, language=customer.language, source=ResponseSource.WEB,
        )

    def flush(self) -> None:
        if not self.pending:
            return
        Invitation.objects.bulk_create([invitation for invitation, _ in self.pending], batch_size=BATCH)
        responses = []
        for invitation, response in self.pending:
            if response is not None:
                response.invitation_id = invitation.pk
                responses.append(response)
        Response.objects.bulk_create(responses, batch_size=BATCH)
        self.invitations += len(self.pending)
        self.responses += len(responses)
        self.pending.clear()
