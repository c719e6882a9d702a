"""Integrity flags (SPEC §5): reasons not to trust an NPS figure, each linked to what raised it.

Thresholds where the SPEC is silent:

- low response rate: under 20 % of delivered invitations answered (with at least one delivered);
- small sample: fewer than 100 responses; its margin of error quoted from MIN_RESPONSES_TO_JUDGE
  (30) answers up, below which it is too unsteady to quote (it reads ±0.0 at one answer);
- clustering: a touchpoint or sender with at least 30 answers whose share of 9–10 scores is at
  least 20 points above the rest of the series and above it beyond chance (two-proportion z > 3),
  the rest holding at least 10 answers (the z-test compares two samples: against fewer, its chance
  bound cannot be trusted): the sign of scores being coached or cherry-picked. The sender is the
  address a survey's invitations go out from: its own, or DEFAULT_FROM_EMAIL's when it has none;
- solicited scores: a verbatim that says the customer was asked for a high score, in English,
  French or German (the languages of the answer pages);
- hand-picked audience: a launch to a hand-picked list, or relationship invitations made one by
  one (no launch) rather than by the survey's audience rule.
"""

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parseaddr
from fractions import Fraction
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.urls import NoReverseMatch, reverse

from surveys.importing import KEY_PREFIX as IMPORTED_KEY_PREFIX
from surveys.models import AudienceKind, Invitation, Launch, Response, ResponseCategory, SurveyKind
from surveys.selectors import responses_shown_one_by_one

from .nps import NpsReport, period_bounds, responses_in
from .nps_formulas import MIN_RESPONSES_TO_JUDGE, shown_percent

LOW_RESPONSE_RATE = Decimal("0.2")  # exact: a float 0.20 is a hair above 1/5, and 20 % would be "under 20 %"
SMALL_SAMPLE = 100
CLUSTER_MIN_ANSWERS = 30
CLUSTER_MIN_REST = 10
CLUSTER_GAP = Fraction(1, 5)  # exact: 60 % against 40 % is a gap of 20 points, not 19.99…
CLUSTER_Z = 3.0
VERBATIM_LIMIT = 20
CHUNK = 2000  # verbatims read from the database at a time


def _within_a_sentence(chars: int) -> str:
    return rf"[^.!?\n]{{0,{chars}}}"


# A score, not a quantity: "a 10" but not "a 10 % discount", "10.5 kg", "10 euros" or "um 10 Uhr".
_NOT_A_QUANTITY = (r"(?![.,]\d|\s*(%|€|\$|£|percent\b|per cent\b|euros?\b|eur\b|dollars?\b|pounds?\b|minut|min\b"
                   r"|hours?\b|heures?\b|stunden?\b|uhr\b|days?\b|jours?\b|tage\b))")
_EN_SCORE = rf"(\b(10|ten|9|nine)\b{_NOT_A_QUANTITY}|high|top|perfect|five stars|5 stars)"
# What is asked "for" without a verb of scoring must be a score by itself: "for a 10", "for a 10 on
# the survey", "for a perfect score", never "for a 10 minute call" or "for a top floor room".
_EN_SCORE_ASKED_FOR = (rf"(\b(10|ten|9|nine)\b{_NOT_A_QUANTITY}(?!\s*[a-z])"
                       r"|\b(10|ten|9|nine)\s+(on|in|from|for|if|when|because|and|out of|rating|score|stars?)\b"
                       r"|\b(perfect|top|high|highest|best|maximum|full)\s+(score|rating|mark|marks|grade|review)"
                       r"|\b(five|5)[\s-]stars?\b)")
_FR_ASKED = r"(demand[ée]e?s?|pri[ée]e?s?|suppli[ée]e?s?)"
_FR_SCORE = (rf"(\b(10|dix|9|neuf)\b{_NOT_A_QUANTITY}|bonne note|meilleure note|note parfaite|note maximale"
             r"|note max\b|maximum|\b(5|cinq) étoiles)")
# The same, asked for without a verb of scoring: "une note de 10", not "10 euros".
_FR_SCORE_ASKED_FOR = (rf"(\b(une|la)\s+(note|évaluation)\s+(de\s+)?(10|dix|9|neuf)\b{_NOT_A_QUANTITY}"
                       r"|meilleure note|note parfaite|note maximale|\b10\s*/\s*10\b|\b(5|cinq) étoiles)")
_DE_SCORE = (rf"(\b(10|zehn|9|neun)\b{_NOT_A_QUANTITY}|bestnote|höchstnote|höchste|bestbewertung"
             r"|volle punktzahl|\b(5|fünf) sterne|gute bewertung)")

# A request and a high score, in one sentence: "asked me to give a 10", "asked me for a perfect
# score", "told us to rate them 9 or 10", "on m'a demandé de mettre 10", "m'a demandé une note de
# 10", "man hat mich gebeten, 10 Punkte zu geben", "hat mich um eine 10 gebeten".
SOLICITED = re.compile(
    "|".join((
        rf"\b(asked|told|begged|pushed|reminded|wanted)\b{_within_a_sentence(40)}"
        rf"\b(give|rate|score|put|mark|leave)\b{_within_a_sentence(30)}{_EN_SCORE}",
        rf"\b(ask|asks|asked|asking|begged)\b(\s+(me|us|him|her|them|everyone|customers))?\s+for\s+((a|an|the)\s+)?"
        rf"{_EN_SCORE_ASKED_FOR}",
        rf"\bplease\b{_within_a_sentence(20)}\b(give|rate)\b{_within_a_sentence(20)}\b(10|ten)\b{_NOT_A_QUANTITY}",
        rf"\b({_FR_ASKED}|insist[ée]|dit)\b{_within_a_sentence(40)}"
        rf"\b(mettre|donner|noter|attribuer)\b{_within_a_sentence(30)}{_FR_SCORE}",
        rf"\b{_FR_ASKED}\b{_within_a_sentence(40)}{_FR_SCORE_ASKED_FOR}",
        rf"\b(gebeten|gedrängt|aufgefordert|bat|sagte)\b{_within_a_sentence(60)}{_DE_SCORE}",
        # German may put the request last: "um eine 10 gebeten".
        rf"\bum\s+((eine|die|den|volle)\s+)?{_DE_SCORE}{_within_a_sentence(40)}\b(gebeten|bat|gedrängt)\b",
    )),
    re.IGNORECASE,
)
# Words that must appear for a verbatim to be read at all: the database narrows, the regex decides.
# One for each word of SOLICITED that can open a request (a test walks them), as narrow as it can
# be without a word boundary, which LIKE lacks ("dit" also finds "credit": the regex sorts them).
SOLICITED_HINTS = (
    "ask", "told", "begged", "push", "remind", "wanted", "please", "demand", "prie", "prié", "suppli", "insist",
    "dit", "gebeten", "gedrängt", "aufgefordert", "bat", "sagte",
)


@dataclass
class Flag:
    code: str
    title: str
    raised: bool
    detail: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url)


def _url(name: str, *args, query: dict | None = None) -> str:
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def integrity_flags(report: NpsReport) -> list[Flag]:
    """Every flag, raised or not, for the report's period and series."""
    return [
        _low_response_rate(report),
        _small_sample(report),
        *_clustering(report),
        _solicited_scores(report),
        _hand_picked(report),
    ]


def _low_response_rate(report: NpsReport) -> Flag:
    rate = report.sample.response_rate
    raised = rate is not None and rate < LOW_RESPONSE_RATE
    if rate is None:
        detail = "No invitation was delivered in this period."
    else:
        detail = (
            f"{shown_percent(rate)} of {report.sample.delivered:,} delivered invitations were answered "
            f"(threshold {LOW_RESPONSE_RATE:.0%})"
        )
        # The warning only when the flag is raised: at or above the threshold it contradicts the ✓.
        detail += ": the answers may not speak for the customers who stayed silent." if raised else "."
    return Flag("low_response_rate", "Response rate under 20 %", raised, detail,
                [("Surveys and their progress", _url("surveys:survey-list"))])


def _small_sample(report: NpsReport) -> Flag:
    n = report.counts.responses
    detail = f"{n:,} {'response' if n == 1 else 'responses'} (threshold {SMALL_SAMPLE}){_margin_said(report)}"
    return Flag("small_sample", "Fewer than 100 responses", n < SMALL_SAMPLE, detail)


def _margin_said(report: NpsReport) -> str:
    """The margin of error, where it means something: below MIN_RESPONSES_TO_JUDGE answers (as for
    a change between periods) it can be as low as ±0.0 (one answer, or a few all alike), which would read
    as an exact figure when the sample is the least trustworthy."""
    n, margin = report.counts.responses, report.counts.margin_of_error
    if margin is None:
        return "."
    if n < MIN_RESPONSES_TO_JUDGE:
        return (f": too few for a meaningful margin of error (it takes at least {MIN_RESPONSES_TO_JUDGE}); "
                "the figure may move a long way with the next answers.")
    return f": the margin of error is ±{margin:.1f} points."


def _clustering(report: NpsReport) -> list[Flag]:
    """Touchpoints and senders whose 9–10 share stands far above the rest of the series."""
    responses = _responses(report)
    total = responses.aggregate(n=Count("id"), top=Count("id", filter=Q(category=ResponseCategory.PROMOTER)))
    flags = []
    for code, label, group, link in (("touchpoint_clustering", "Touchpoint", F("touchpoint"), _touchpoint_url),
                                     ("sender_email_clustering", "Sender", _sender(), None)):
        rows = responses.order_by().values(key=group).annotate(
            n=Count("id"), top=Count("id", filter=Q(category=ResponseCategory.PROMOTER)),
            listed=Count("id", filter=Q(survey__anonymous=False)),
        ).order_by("key")  # the flag lists its suspects in the same order at each view
        # An answer without a touchpoint is of no touchpoint; every answer has a sender.
        suspects = [row for row in rows if row["key"] and _stands_out(row["n"], row["top"], total["n"], total["top"])]
        links = [(f"{label} {row['key']}: {row['top'] / row['n']:.0%} promoters of {row['n']}",
                  link(report, row) if link else "") for row in suspects]
        detail = (
            f"{len(suspects)} {label.lower()}(s) with at least {CLUSTER_MIN_ANSWERS} answers have a 9–10 share at "
            f"least {float(CLUSTER_GAP):.0%} above the rest, beyond chance."
            if suspects else f"No {label.lower()} stands out from the rest."
        )
        if link and any(row["listed"] < row["n"] for row in suspects):
            detail += (" Answers of anonymous surveys are counted, not listed: a touchpoint with only those links "
                       "to its NPS.")
        flags.append(Flag(code, f"{label} scores cluster at 9–10", bool(suspects), detail, links))
    return flags


def _sender():
    """The address a survey's invitations go out from (Survey.from_email), in SQL: grouping in the
    database, a survey without one and one naming the default address are one sender."""
    default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return Coalesce(NullIf("survey__sender_email", Value("")), Value(default_address))


def _touchpoint_url(report: NpsReport, row: dict) -> str:
    """The response list filtered to the touchpoint while some of its answers are named. Its filter
    never matches an anonymous survey's answers (nor offers a touchpoint that has only those): it
    would drop the filter and list every answer. The NPS dashboard counts them under its filter."""
    if row["listed"]:
        return _url("surveys:response-list", query={**_list_scope(report), "touchpoint": row["key"]})
    scope = {"period": str(report.period), "type": report.survey_type, "counting": report.counting}
    if report.survey is not None:
        scope["survey"] = report.survey.pk
    if report.segment:
        scope["segment"] = report.segment
    return _url("reports:nps", query={**scope, "touchpoint": row["key"]})


def _list_scope(report: NpsReport) -> dict:
    """The response list's filters for the answers this report counts (its counting rule aside)."""
    scope = {"kind": report.survey_type, "date_from": report.period.start.isoformat(),
             "date_to": report.period.end.isoformat()}
    if report.survey is not None:
        scope["survey"] = report.survey.pk
    if report.segment:
        scope["segment"] = report.segment
    return scope


def _responses(report: NpsReport):
    """The answers the report counts: its series, filters and counting rule."""
    return responses_in(
        report.period, kind=report.survey_type, survey=report.survey, segment=report.segment,
        touchpoint=report.touchpoint, counting=report.counting,
    )


def _stands_out(n: int, top: int, total_n: int, total_top: int) -> bool:
    rest_n, rest_top = total_n - n, total_top - top
    if n < CLUSTER_MIN_ANSWERS or rest_n < CLUSTER_MIN_REST:
        return False
    gap = Fraction(top, n) - Fraction(rest_top, rest_n)
    pooled = total_top / total_n
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / rest_n))
    return gap >= CLUSTER_GAP and spread > 0 and float(gap) / spread > CLUSTER_Z


def _solicited_scores(report: NpsReport) -> Flag:
    """Every verbatim of the report read (one streaming query over those holding a hint), all
    matches counted, the first VERBATIM_LIMIT of those that may be shown quoted, newest first."""
    found = unlisted = 0
    links = []
    for pk, score, reason, suggestion, listable in _solicited_candidates(report).iterator(chunk_size=CHUNK):
        if not (SOLICITED.search(reason) or SOLICITED.search(suggestion)):
            continue
        found += 1
        unlisted += not listable
        if listable and len(links) < VERBATIM_LIMIT:
            links.append((f"Score {score}: “{_excerpt(reason or suggestion)}”", _url("surveys:response-detail", pk)))
    detail = (f"{found} verbatim(s) say the customer was asked for a high score." if found
              else "No verbatim mentions being asked for a high score.")
    if unlisted:
        detail += " Those of anonymous surveys are counted, not listed: the filter would tie them to its group."
    return Flag("solicited_scores", "Verbatims mention being asked for a high score", bool(found), detail, links)


def _solicited_candidates(report: NpsReport):
    """(pk, score, reason, suggestion, listable) of the report's answers holding a hint, newest first;
    listable by the same rule as the dashboard's verbatims."""
    shown = responses_shown_one_by_one(Response.objects.filter(pk=OuterRef("pk")),
                                       segment=report.segment, touchpoint=report.touchpoint)
    return (
        _responses(report).filter(_hinted()).annotate(listable=Exists(shown))
        .order_by("-answered_at", "-id").values_list("pk", "score", "reason", "suggestion", "listable")
    )


class _HoldsAHint(Func):
    """PostgreSQL: UPPER(reason || line break || suggestion) LIKE ANY (ARRAY[UPPER('%ask%'), ...]): what
    `icontains` tests hint by hint and column by column, each answer's text upper-cased once rather than 36
    times (a year of 150,000 answers: 0.23 s instead of 1.1-1.4 s, bench/nps_dashboard.py). No hint holds a
    line break, so none is found across the two verbatims."""

    output_field = BooleanField()

    def __init__(self):
        super().__init__(F("reason"), F("suggestion"))

    def as_sql(self, compiler, connection):
        (reason, reason_params), (suggestion, suggestion_params) = map(compiler.compile, self.get_source_expressions())
        patterns = [f"%{connection.ops.prep_for_like_query(word)}%" for word in SOLICITED_HINTS]
        sql = f"UPPER({reason} || %s || {suggestion}) LIKE ANY (ARRAY[{', '.join(['UPPER(%s)'] * len(patterns))}])"
        return sql, [*reason_params, "\n", *suggestion_params, *patterns]


def _hinted():
    """The answers whose verbatims hold a hint, ignoring case."""
    if connection.vendor == "postgresql":
        return _HoldsAHint()
    hinted = Q()
    for word in SOLICITED_HINTS:
        # An ASCII hint needs no more than LIKE's own case folding, which SQLite runs natively;
        # ifind (a Python function there) only for hints with other letters ("prié", "gedrängt").
        # It ignores accents too ("gedrangt"): a wider net, and the regex still decides.
        lookup = "icontains" if word.isascii() else "ifind"
        hinted |= Q(**{f"reason__{lookup}": word}) | Q(**{f"suggestion__{lookup}": word})
    return hinted


def _excerpt(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _hand_picked(report: NpsReport) -> Flag:
    """Launches to a list and loose relationship invitations, of the report's survey if it has one
    (a segment does not narrow them: a hand-picked list is a flag whoever is on it)."""
    start, end = period_bounds(report.period)
    launches = Launch.objects.filter(launched_at__gte=start, launched_at__lt=end, audience=AudienceKind.LIST,
                                     survey__kind=report.survey_type)
    if report.survey is not None:
        launches = launches.filter(survey=report.survey)
    launches = list(launches.select_related("survey"))
    loose = []
    if report.survey_type == SurveyKind.RELATIONSHIP:
        invitations = (
            Invitation.objects.filter(launch__isnull=True, created_at__gte=start, created_at__lt=end,
                                      survey__kind=SurveyKind.RELATIONSHIP, survey__imported=False)
            .exclude(reference__startswith=IMPORTED_KEY_PREFIX)  # history from another tool, not a pick
        )
        if report.survey is not None:
            invitations = invitations.filter(survey=report.survey)
        loose = list(invitations.values("survey_id", "survey__name").annotate(n=Count("id")))
    links = [(f"{launch.survey}: launched to a hand-picked list of {launch.audience_size}",
              _url("surveys:survey-detail", launch.survey_id)) for launch in launches]
    links += [(f"{row['survey__name']}: {row['n']} invitation(s) made one by one",
               _url("surveys:survey-detail", row["survey_id"])) for row in loose]
    raised = bool(links)
    detail = ("Some invitations went to customers picked by hand rather than by an audience rule." if raised
              else "Every invitation went to an audience chosen by a rule.")
    return Flag("hand_picked", "Hand-picked audience", raised, detail, links)
