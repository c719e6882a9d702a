"""NPS for a period (SPEC §5), counted by the database, with the sample it stands on.

Decisions where the SPEC is silent:

- A response counts in the period its answer is dated in (`answered_at`, in the site's time zone).
- The sample counts invitations by the day they went out (`sent_at`; for suppressed or unsent ones
  the day they were made): invited = every invitation row, suppressed ones included, so the
  sample is honest about who was left out and why; delivered = sent, responded or expired (the
  email reached the customer's server); response rate = responded / delivered, never / invited.
- One series at a time: relationship and transactional answers are never in one number. Without
  a survey the report is of the relationship series unless `survey_type` says otherwise; with a
  survey it is that survey's type (a `survey_type` that contradicts it is refused).
- Counting rule `latest`: of each customer's answers in the period (within the series, and the
  survey when one is chosen), only the latest counts, named answers compared with named ones and
  anonymous with anonymous: an anonymous answer cannot be tied to its customer, so it neither
  replaces nor is replaced by one of their named answers (else comparing the two rules would tell
  who answered an anonymous survey, SPEC §1). A by-survey breakdown takes the latest within each
  survey, so that each row is what that survey's own report shows.
- A segment filter uses the segment copied onto each row: onto the response when the answer was
  given, onto the invitation when it was made (the sample). Moving a customer to another segment
  changes neither past samples nor past answers. A customer moved between the invitation and the
  answer counts in the old segment's sample and the new one's answers.
- Revenue share: the ledger revenue dated in the period of the customers who answered a
  non-anonymous survey, over all ledger revenue dated in the period (of the segment's customers
  when a segment is chosen). An anonymous survey's respondents are left out of both sides: their
  share of the ledger would tell who answered (SPEC §1). A scope without a named respondent, because
  nobody answered or every answer is anonymous, has no share (null, shown n/a or –, empty in a CSV),
  as it has no NPS: 0 % would read as a figure about respondents there are none of. A trend period
  or a breakdown row gets the share the report filtered to it would show (a segment's row: over that
  segment's revenue), all periods or all rows of a breakdown in one statement.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce, TruncMonth, TruncQuarter, TruncYear
from django.utils import timezone

from accounting.models import Customer, RevenueEntry
from surveys.models import (
    DELIVERED_STATES,
    Invitation,
    InvitationState,
    Response,
    ResponseCategory,
    SuppressionReason,
    Survey,
    SurveyKind,
)

from . import nps_formulas as f
from .earned_growth import money_sql, to_money
from .periods import Period

ALL, LATEST = "all", "latest"
COUNTING_RULES = (ALL, LATEST)
SCORES = range(11)


@dataclass
class NpsCounts:
    responses: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def nps(self) -> Decimal | None:
        return f.nps(self.promoters, self.detractors, self.responses)

    @property
    def margin_of_error(self) -> Decimal | None:
        return f.margin_of_error(self.promoters, self.detractors, self.responses)

    @property
    def interval(self) -> tuple[Decimal, Decimal] | None:
        return f.adjusted_wald(self.promoters, self.detractors, self.responses)

    @property
    def as_tuple(self) -> tuple[int, int, int]:
        return self.promoters, self.detractors, self.responses

    def as_json(self) -> dict:
        interval = self.interval
        return {
            "responses": self.responses, "promoters": self.promoters, "passives": self.passives,
            "detractors": self.detractors, "nps": f.as_text(self.nps), "nps_shown": _int(f.shown(self.nps)),
            "margin_of_error": f.as_text(self.margin_of_error),
            "ci_low": f.as_text(interval[0]) if interval else None,
            "ci_high": f.as_text(interval[1]) if interval else None,
        }


@dataclass
class NpsSample:
    invited: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    responded: int = 0
    # SPEC §5 counts it in the sample; set once the respondents are known (None: no share to show,
    # as when nobody answered).
    revenue_share: Decimal | None = None

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    @property
    def suppressed_by_label(self) -> list[tuple[str, int]]:
        """The reasons that held back at least one invitation, by their label."""
        return [(SuppressionReason(reason).label, n) for reason, n in self.suppressed.items() if n]

    @property
    def response_rate(self) -> Decimal | None:
        return Decimal(self.responded) / self.delivered if self.delivered else None


@dataclass
class NpsReport:
    period: Period
    survey_type: str
    counting: str
    counts: NpsCounts
    sample: NpsSample
    distribution: list[int]
    survey: Survey | None = None
    segment: str | None = None
    touchpoint: str | None = None

    @property
    def revenue_share(self) -> Decimal | None:
        return self.sample.revenue_share

    def as_json(self) -> dict:
        """The JSON of SPEC §7 (rates as fractions), with the scope and the sample beside it."""
        data = {"period": str(self.period), **self.counts.as_json()}
        data.update(
            invited=self.sample.invited,
            suppressed=self.sample.suppressed_total,
            suppressed_by_reason=self.sample.suppressed,
            delivered=self.sample.delivered,
            bounced=self.sample.bounced,
            failed=self.sample.failed,
            responded=self.sample.responded,
            response_rate=f.as_text(self.sample.response_rate),
            revenue_share_of_respondents=f.as_text(self.revenue_share),
            survey_type=self.survey_type,
            survey=self.survey.pk if self.survey else None,
            segment=self.segment,
            touchpoint=self.touchpoint,
            counting=self.counting,
            distribution=self.distribution,
        )
        return data


def _int(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


def period_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the period as aware datetimes in the site's time zone."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def series_conflict(survey: Survey | None, survey_type: str | None) -> str | None:
    """Why a survey and a series given together contradict each other (None if they do not): a
    survey's answers are of its own series, and a report must not show one series under another's name."""
    if survey is None or not survey_type or survey_type == survey.kind:
        return None
    kind = survey.get_kind_display().lower()
    return f"{survey} is a {kind} survey: choose the {kind} series, or another survey."


def _series(survey: Survey | None, survey_type: str | None) -> str:
    if survey is not None:
        if conflict := series_conflict(survey, survey_type):
            raise ValueError(conflict)
        return survey.kind
    kind = survey_type or SurveyKind.RELATIONSHIP
    if kind not in SurveyKind.values:
        raise ValueError(f"survey type must be one of {', '.join(SurveyKind.values)}, not {kind!r}")
    return kind


def responses_in(
    period: Period, *, kind: str, survey: Survey | None = None, segment: str | None = None,
    touchpoint: str | None = None, counting: str = ALL, per_survey: bool = False,
):
    """The responses a report counts: one series, the filters, the counting rule. `per_survey`:
    under `latest`, each customer's latest answer within each survey (a by-survey breakdown)."""
    if counting not in COUNTING_RULES:
        raise ValueError(f"counting must be one of {', '.join(COUNTING_RULES)}, not {counting!r}")
    start, end = period_bounds(period)
    scope = Q(answered_at__gte=start, answered_at__lt=end, survey__kind=kind)
    if survey is not None:
        scope &= Q(survey=survey)
    responses = Response.objects.filter(scope)
    if segment is not None:
        responses = responses.filter(segment=segment)
    if touchpoint is not None:
        responses = responses.filter(touchpoint=touchpoint)
    if counting == LATEST:
        later = Response.objects.filter(scope).filter(_later_than_outer(per_survey=per_survey))
        responses = responses.exclude(Exists(later))
    return responses


def _later_than_outer(*, per_survey: bool = False) -> Q:
    """A response of the same customer, in a survey of the same anonymity, answered after the outer
    one (ties broken by id). An anonymous answer cannot be tied to a customer, so it may not
    replace one of theirs, nor be replaced: else the named answers that vanish under `latest`
    would tell who answered an anonymous survey (SPEC §1). `per_survey`: in the same survey too."""
    same = Q(customer=OuterRef("customer"), survey__anonymous=OuterRef("survey__anonymous"))
    if per_survey:
        same &= Q(survey=OuterRef("survey"))
    return same & (
        Q(answered_at__gt=OuterRef("answered_at")) | Q(answered_at=OuterRef("answered_at"), pk__gt=OuterRef("pk"))
    )


def _count_expressions() -> dict:
    return {
        "responses": Count("id"),
        "promoters": Count("id", filter=Q(category=ResponseCategory.PROMOTER)),
        "passives": Count("id", filter=Q(category=ResponseCategory.PASSIVE)),
        "detractors": Count("id", filter=Q(category=ResponseCategory.DETRACTOR)),
    }


def _counts_and_distribution(responses) -> tuple[NpsCounts, list[int]]:
    row = responses.aggregate(
        **_count_expressions(), **{f"s{score}": Count("id", filter=Q(score=score)) for score in SCORES}
    )
    distribution = [row.pop(f"s{score}") for score in SCORES]
    return NpsCounts(**row), distribution


def _invitations_in(start, end, *, kind, survey, segment, touchpoint=None):
    """The invitations of a series that went out in [start, end) (created, if never sent)."""
    invitations = Invitation.objects.annotate(day=Coalesce("sent_at", "created_at")).filter(
        day__gte=start, day__lt=end, survey__kind=kind
    )
    if survey is not None:
        invitations = invitations.filter(survey=survey)
    if segment is not None:
        invitations = invitations.filter(segment=segment)
    if touchpoint is not None:
        invitations = invitations.filter(touchpoint=touchpoint)
    return invitations


def _sample_expressions() -> dict:
    return {
        "invited": Count("id"),
        "delivered": Count("id", filter=Q(state__in=DELIVERED_STATES)),
        "bounced": Count("id", filter=Q(state=InvitationState.BOUNCED)),
        "failed": Count("id", filter=Q(state=InvitationState.FAILED)),
        "responded": Count("id", filter=Q(state=InvitationState.RESPONDED)),
        **{
            f"suppressed_{reason}": Count("id", filter=Q(state=InvitationState.SUPPRESSED, suppression_reason=reason))
            for reason in SuppressionReason.values
        },
    }


def _sample_from(row: dict) -> NpsSample:
    suppressed = {reason: row.pop(f"suppressed_{reason}") for reason in SuppressionReason.values}
    return NpsSample(suppressed=suppressed, **row)


def _sample(period: Period, *, kind, survey, segment, touchpoint) -> NpsSample:
    start, end = period_bounds(period)
    invitations = _invitations_in(start, end, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint)
    return _sample_from(invitations.aggregate(**_sample_expressions()))


def _revenue_shares(scopes: list[tuple[Period, object]], segment: str | None) -> list[Decimal | None]:
    """The revenue share of each (period, its responses), consecutive periods, in one statement:
    one pass over the ledger of the whole span (no index leads with the date: any range is a scan),
    each line tested against its own period's respondents only (a hashed set each), so that a
    trend of twelve months costs one scan and a probe per line. None for a period without an answer
    to a named survey: its lines are dropped as they are read.

    The ledger has no copy of the segment: a segment's revenue is that of its customers now, plus
    that of the customers who answered in it (and have moved on since), so that a move after the
    answer changes neither side."""
    revenue, customers = RevenueEntry._meta.db_table, Customer._meta.db_table
    ctes, params, period_of, answered, held, total, flags = [], [], [], [], [], [], []
    for index, (_, responses) in enumerate(scopes):
        named, named_params = (
            responses.filter(survey__anonymous=False).order_by().values("customer_id").query.sql_with_params()
        )
        ctes.append(f"named{index} AS ({named})")
        params += named_params
        period_of.append(f"WHEN r.date <= %s THEN {index}")
        answered.append(f"WHEN r.date <= %s THEN EXISTS (SELECT 1 FROM named{index})")  # noqa: S608
        respondent = f"l.customer_id IN (SELECT customer_id FROM named{index})"  # noqa: S608
        held.append(f"WHEN {index} THEN {respondent}")
        total.append(f"WHEN {index} THEN l.in_segment OR {respondent}")
        flags.append(f"SELECT 1, {index}, CASE WHEN EXISTS (SELECT 1 FROM named{index}) THEN 1 ELSE 0 END, 0")  # noqa: S608
    if segment is None:
        in_segment, segment_params, counted = "1 = 1", [], "1 = 1"
    else:
        in_segment = f"r.customer_id IN (SELECT id FROM {customers} WHERE segment = %s)"  # noqa: S608
        segment_params, counted = [segment], f"CASE l.p {' '.join(total)} END"
    sql = f"""
    WITH {", ".join(ctes)},
    lines AS (
        SELECT CASE {" ".join(period_of)} END AS p, r.customer_id, {money_sql("r.amount")} AS amount,
            {in_segment} AS in_segment
        FROM {revenue} r WHERE r.date BETWEEN %s AND %s AND CASE {" ".join(answered)} END
    )
    SELECT 0, l.p, SUM(CASE WHEN {counted} THEN l.amount ELSE 0 END),
        SUM(CASE WHEN CASE l.p {" ".join(held)} END THEN l.amount ELSE 0 END)
    FROM lines l GROUP BY l.p
    UNION ALL {" UNION ALL ".join(flags)}
    """  # noqa: S608 - table names from model metadata, the respondents' SQL from the ORM, values as parameters
    ends = [period.end for period, _ in scopes]
    params += [*ends, *segment_params, scopes[0][0].start, scopes[-1][0].end, *ends]
    sums, named = {}, set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, index, first, second in cursor.fetchall():
            if kind == 0:
                sums[index] = (to_money(second), to_money(first))  # held, total
            elif first:
                named.add(index)
    return [_share(*sums.get(index, (0, 0))) if index in named else None for index in range(len(scopes))]


def _share(held, total) -> Decimal | None:
    held, total = Decimal(held or 0), Decimal(total or 0)
    if total <= 0 or not 0 <= held <= total:
        # Credit notes can make either side net negative (respondents holding 100 of a total of
        # 40): no share of anything then, so none is shown rather than 250 % or -30 %.
        return None
    return held / total


def _revenue_share(period: Period, responses, segment: str | None) -> Decimal | None:
    return _revenue_shares([(period, responses)], segment)[0]


def nps_report(
    *, period: Period, survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL, revenue_share: bool = True,
) -> NpsReport:
    """NPS, margin and interval, the 0–10 distribution, the sample and the revenue share: 3 queries.
    `revenue_share=False`: 2, the caller setting the share (the dashboard takes it from its trend,
    which computes the same share of the same period)."""
    kind = _series(survey, survey_type)
    responses = responses_in(
        period, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint, counting=counting
    )
    counts, distribution = _counts_and_distribution(responses)
    sample = _sample(period, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint)
    if revenue_share:
        sample.revenue_share = _revenue_share(period, responses, segment)
    return NpsReport(
        period=period, survey_type=kind, counting=counting, counts=counts, distribution=distribution,
        sample=sample, survey=survey, segment=segment, touchpoint=touchpoint,
    )


BREAKDOWNS = {"segment": "segment", "touchpoint": "touchpoint", "survey": "survey__name"}
BREAKDOWN_ORDER = list(BREAKDOWNS)


def nps_breakdown(
    *, period: Period, by: str, survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL,
) -> list[tuple[str, NpsCounts]]:
    """NPS counts per segment, touchpoint or survey in one grouped query, largest groups first.
    Each row counts as the report filtered to its group: a survey's row takes the latest answer
    within that survey (an answer to another survey does not drop it)."""
    return nps_breakdowns(period=period, bys=[by], survey=survey, survey_type=survey_type, segment=segment,
                          touchpoint=touchpoint, counting=counting)[by]


def _answer_sets(bys: list[str], counting: str) -> dict[bool, list[str]]:
    """The breakdowns `bys` by the answers they read: under `latest` a survey's row takes the latest
    answer within that survey (`per_survey`, True); the others (all of them under `all`) read one
    set of answers, derived once."""
    sets = {}
    for by in bys:
        if by not in BREAKDOWNS:
            raise ValueError(f"breakdown must be one of {', '.join(BREAKDOWNS)}, not {by!r}")
        sets.setdefault(counting == LATEST and by == "survey", []).append(by)
    return sets


def nps_breakdowns(
    *, period: Period, bys: list[str], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL,
) -> dict[str, list[tuple[str, NpsCounts]]]:
    """`nps_breakdown` of several breakdowns: the answers grouped by every column asked for in one
    query (counts add up), summed per breakdown here; under `latest` a survey's rows in a query of
    their own (the latest answer within each survey)."""
    kind = _series(survey, survey_type)
    found = {}
    for per_survey, group in _answer_sets(bys, counting).items():
        responses = responses_in(
            period, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint, counting=counting,
            per_survey=per_survey,
        )
        columns = [BREAKDOWNS[by] for by in group]
        rows = list(responses.order_by().values(*columns).annotate(**_count_expressions()))
        for by, column in zip(group, columns, strict=True):
            totals = {}
            for row in rows:
                counts = totals.setdefault(row[column] or "", NpsCounts())
                for name in ("responses", "promoters", "passives", "detractors"):
                    setattr(counts, name, getattr(counts, name) + row[name])
            # Ties by name: the grouped rows come back in the plan's order (a hash's, on PostgreSQL),
            # which moved tied groups around between two views or downloads of the same figures.
            found[by] = sorted(totals.items(), key=lambda item: (-item[1].responses, item[0]))
    return {by: found[by] for by in bys}


# The sample behind each breakdown row: a segment's invitations are those made while their customer
# was in it (the invitation's copy), as in the headline's sample.
SAMPLE_GROUPS = {"segment": "segment", "touchpoint": "touchpoint", "survey": "survey__name"}


def sample_breakdown(
    *, period: Period, by: str, survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None,
) -> dict[str, NpsSample]:
    """The sample (invited, suppressed, delivered, ..., responded) per segment, touchpoint or survey:
    one grouped query over the invitations."""
    return sample_breakdowns(period=period, bys=[by], survey=survey, survey_type=survey_type, segment=segment,
                             touchpoint=touchpoint)[by]


def sample_breakdowns(
    *, period: Period, bys: list[str], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None,
) -> dict[str, dict[str, NpsSample]]:
    """`sample_breakdown` of several breakdowns: one query over the invitations grouped by every
    column asked for (the counts add up), summed per breakdown here."""
    for by in bys:
        if by not in SAMPLE_GROUPS:
            raise ValueError(f"breakdown must be one of {', '.join(SAMPLE_GROUPS)}, not {by!r}")
    start, end = period_bounds(period)
    invitations = _invitations_in(
        start, end, kind=_series(survey, survey_type), survey=survey, segment=segment, touchpoint=touchpoint
    )
    columns = [SAMPLE_GROUPS[by] for by in bys]
    rows = list(invitations.order_by().values(*columns).annotate(**_sample_expressions()))
    found = {}
    for by, column in zip(bys, columns, strict=True):
        totals = {}
        for row in rows:
            total = totals.setdefault(row[column] or "", {})
            for name, value in row.items():
                if name not in columns:
                    total[name] = total.get(name, 0) + value
        found[by] = {name: _sample_from(total) for name, total in totals.items()}
    return found


def revenue_share_breakdown(
    *, period: Period, by: str, groups: list[str], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL,
) -> dict[str, Decimal | None]:
    """The revenue share of each group's named respondents (None for a group without one: invited
    but silent, or whose answers are all anonymous), as the report filtered to that group shows it:
    a segment's row over that segment's revenue. One statement."""
    return revenue_share_breakdowns(
        period=period, groups={by: groups}, survey=survey, survey_type=survey_type, segment=segment,
        touchpoint=touchpoint, counting=counting,
    )[by]


def revenue_share_breakdowns(
    *, period: Period, groups: dict[str, list[str]], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL,
) -> dict[str, dict[str, Decimal | None]]:
    """`revenue_share_breakdown` of several breakdowns (`{by: groups}`) in one statement: the
    period's ledger is summed per customer once for all of them (the dashboard's three breakdowns:
    one pass over a year of ledger instead of three)."""
    kind = _series(survey, survey_type)
    respondents = [
        (responses_in(period, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint, counting=counting,
                      per_survey=per_survey), bys)
        for per_survey, bys in _answer_sets(list(groups), counting).items()
    ]
    found, by_segment = _revenue_by_group(period, respondents, segment=segment)
    shares = {}
    for by, names in groups.items():
        held, outside, named = found[by]
        shares[by] = {}
        for group in names:
            scope = group if by == "segment" else segment
            total = _scope_revenue(by_segment, scope) + (outside.get(group, 0) if scope is not None else 0)
            shares[by][group] = _share(held.get(group, 0), total) if group in named else None
    return shares


def _scope_revenue(by_segment: dict[str, Decimal], segment: str | None) -> Decimal:
    """The period's revenue of a segment's customers now, or of every customer."""
    if segment is None:
        return sum(by_segment.values(), Decimal(0))
    return by_segment.get(segment, Decimal(0))


def _revenue_by_group(period: Period, respondents: list, *, segment: str | None) -> tuple[dict, dict]:
    """For each breakdown, per group: the revenue its named respondents hold (each customer once),
    the part of it held by those now outside the group's segment scope (they still count in that
    segment's revenue), and the groups with a named respondent (the others have no share: nobody to
    hold it, or SPEC §1); and per current segment: the period's revenue. Money exact, as in the
    loyalty economics.

    `respondents`: (answers, the breakdowns that group them). One statement: each set of answers
    read once (its distinct groups and customers), the ledger summed per customer once, with the
    customer's segment now."""
    revenue, customers = RevenueEntry._meta.db_table, Customer._meta.db_table
    ctes, parts, params, part_params, names = [], [], [], [], []
    for number, (responses, bys) in enumerate(respondents):
        columns = {f"g{BREAKDOWN_ORDER.index(by)}": F(BREAKDOWNS[by]) for by in bys}
        answered, answered_params = (
            responses.order_by().annotate(**columns, hidden=F("survey__anonymous"))
            .values(*columns, "customer_id", "hidden").distinct().query.sql_with_params()
        )
        ctes.append(f"answered{number} AS ({answered})")
        params += answered_params
        for by, column in zip(bys, columns, strict=True):
            index = len(names)
            names.append(by)
            pairs = f"SELECT DISTINCT {column} AS grp, customer_id FROM answered{number} WHERE NOT hidden"  # noqa: S608
            ctes.append(f"pairs{index} AS ({pairs})")
            scope = "s.grp" if by == "segment" else "%s"
            parts.append(f"""
    SELECT {index}, 'group', s.grp, SUM(m.amount), SUM(CASE WHEN m.segment = {scope} THEN 0 ELSE m.amount END)
    FROM pairs{index} s JOIN money m ON m.customer_id = s.customer_id GROUP BY s.grp
    UNION ALL
    SELECT {index}, 'named', s.grp, 0, 0 FROM pairs{index} s GROUP BY s.grp""")  # noqa: S608 - as below
            part_params += [] if by == "segment" else [segment or ""]
    sql = f"""
    WITH money AS (
        SELECT m.customer_id, c.segment, m.amount FROM (
            SELECT r.customer_id, SUM({money_sql("r.amount")}) AS amount
            FROM {revenue} r WHERE r.date BETWEEN %s AND %s GROUP BY r.customer_id
        ) m JOIN {customers} c ON c.id = m.customer_id
    ), {", ".join(ctes)}
    SELECT -1, 'segment', m.segment, SUM(m.amount), 0 FROM money m GROUP BY m.segment
    UNION ALL{" UNION ALL".join(parts)}
    """  # noqa: S608 - table names from model metadata, the respondents' SQL from the ORM, values as parameters
    params = [period.start, period.end, *params, *part_params]
    found = {by: ({}, {}, set()) for by in names}
    by_segment = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for index, kind, name, amount, moved in cursor.fetchall():
            if kind == "segment":
                by_segment[name or ""] = to_money(amount)
                continue
            held, outside, named = found[names[index]]
            if kind == "group":
                held[name or ""], outside[name or ""] = to_money(amount), to_money(moved)
            else:
                named.add(name or "")
    return found, by_segment


TRUNCATE = {"year": TruncYear, "quarter": TruncQuarter, "month": TruncMonth}


def sample_trend(
    *, periods: list[Period], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None,
) -> list[NpsSample]:
    """The sample of each of consecutive periods of one kind, in one query grouped by period."""
    if not periods:
        return []
    start, _ = period_bounds(periods[0])
    _, end = period_bounds(periods[-1])
    bucket = TRUNCATE[periods[0].kind]("day", tzinfo=timezone.get_current_timezone())
    invitations = _invitations_in(
        start, end, kind=_series(survey, survey_type), survey=survey, segment=segment, touchpoint=touchpoint
    )
    rows = invitations.annotate(bucket=bucket).order_by().values("bucket").annotate(**_sample_expressions())
    by_start = {_as_date(row.pop("bucket")): _sample_from(row) for row in rows}
    return [by_start.get(period.start, NpsSample()) for period in periods]


def revenue_share_trend(
    *, periods: list[Period], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL,
) -> list[Decimal | None]:
    """The revenue share of each period's respondents, computed as the headline's: one statement
    over the ledger of the whole span, summed once per customer and period."""
    if not periods:
        return []
    kind = _series(survey, survey_type)
    scopes = [
        (period, responses_in(period, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint,
                              counting=counting))
        for period in periods
    ]
    return _revenue_shares(scopes, segment)


def nps_trend(
    *, periods: list[Period], survey: Survey | None = None, survey_type: str | None = None,
    segment: str | None = None, touchpoint: str | None = None, counting: str = ALL,
) -> list[tuple[Period, NpsCounts]]:
    """NPS counts for consecutive periods of one kind, in one query grouped by period."""
    rows = _trend_rows(periods, survey=survey, survey_type=survey_type, segment=segment, touchpoint=touchpoint,
                       counting=counting)
    by_start = {start: counts for (start, _), counts in rows.items()}
    return [(period, by_start.get(period.start, NpsCounts())) for period in periods]


def nps_trend_by(
    *, periods: list[Period], by: str, survey: Survey | None = None, survey_type: str | None = None,
    counting: str = ALL,
) -> dict[str, list[tuple[Period, NpsCounts]]]:
    """NPS counts per period and per segment, touchpoint or survey, in one grouped query."""
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {', '.join(BREAKDOWNS)}, not {by!r}")
    rows = _trend_rows(periods, survey=survey, survey_type=survey_type, counting=counting, by=BREAKDOWNS[by])
    groups = sorted({group for _, group in rows})
    return {group: [(period, rows.get((period.start, group), NpsCounts())) for period in periods] for group in groups}


def _trend_rows(periods, *, survey, survey_type, counting, segment=None, touchpoint=None, by=None) -> dict:
    if not periods:
        return {}
    kind = _series(survey, survey_type)
    span = Period(periods[0].start, periods[-1].end, periods[0].kind)
    bucket = TRUNCATE[span.kind]("answered_at", tzinfo=timezone.get_current_timezone())
    responses = responses_in(span, kind=kind, survey=survey, segment=segment, touchpoint=touchpoint)
    responses = responses.annotate(bucket=bucket)
    if counting == LATEST:
        later = (
            Response.objects.filter(survey__kind=kind)
            .filter(Q(survey=survey) if survey is not None else Q())
            .annotate(bucket=bucket)
            .filter(bucket=OuterRef("bucket"))
            .filter(_later_than_outer(per_survey=by == BREAKDOWNS["survey"]))  # a survey's row: as its own trend
        )
        responses = responses.exclude(Exists(later))
    keys = ["bucket", by] if by else ["bucket"]
    rows = responses.order_by().values(*keys).annotate(**_count_expressions())
    return {(_as_date(row.pop("bucket")), row.pop(by) or "" if by else None): NpsCounts(**row) for row in rows}


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value
