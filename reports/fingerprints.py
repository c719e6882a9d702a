"""Fingerprints of a report's inputs, to tell when a snapshot no longer matches them (SPEC §6).

`ledger_fingerprint()` costs four queries whatever the data size:

- the revenue ledger: row count and sum in one aggregate. The ledger is append-only (entries are
  immutable; corrections are new entries), so every change to it moves the count.
- the classification version, a SHA-256 over
  - every reason category's (id, kind, is_active): a kind edit reclasses every customer with it;
  - the latest django-simple-history id of ReasonCategory: any edit, including ones that leave
    id/kind/active as they were, or a category deleted and re-created.
- the customers version, a SHA-256 over one aggregate over customers of their answered reason,
  their mapped "other" answer and their entity (the roll-up entity grain groups by): for each, how
  many are set and a position-weighted sum `SUM(value * (id % 1009 + 1))`. A plain sum of mapped
  ids, or a count with the latest `updated_at`, would miss two answers swapping categories, and
  `updated_at` is not touched by the imports' bulk updates; the weighted sum catches both and
  stays an integer far below 2^63.

It also records the classification itself, each category's slug and class, so a snapshot says
which classes its figures used (SPEC §2). Staleness and restatement are two questions: any change
above makes a snapshot stale, but only a category whose class changed (`reclassified`) makes its
recompute a restatement; a customer's new answer or a new parent is new data, not a restatement.

`survey_fingerprint()` adds three aggregates for NPS (see there), the site's TIME_ZONE (NPS
periods are local months of timestamps, so figures computed under another zone are not current)
and `NPS_METHOD`, so snapshots computed by an older formula are recomputed, not shown.
Earned growth reads only dates (the ledger's, the periods'), which no time zone moves.

A snapshot of one segment adds `segment_fingerprint()`, one aggregate over that segment's customers
(how many, and a plain and a position-weighted sum of their ids), so a customer moving in or out,
by the API, the admin or an import, makes it stale; `segment_fingerprints()` gives every segment's
in one grouped query, for a list page. The nightly run also recomputes the segment snapshots of
the periods it refreshes.

What it does not see: changes that cancel out exactly in a weighted sum (a coincidence, not a
pattern an edit makes).
"""

import hashlib
import json
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max, Q, Sum, Value
from django.db.models.functions import Cast, Round

from accounting.models import Customer, ReasonCategory, RevenueEntry
from surveys.models import Invitation, InvitationState, Response, SuppressionReason, Survey, SurveyKind

from .models import SnapshotKind

CENT = Decimal("0.01")
WEIGHT_MODULUS = 1009  # a prime: ids 1009 apart share a weight, neighbours never do
SEGMENT_KEY = "segment_customers"
# How NPS figures are computed; a snapshot computed another way is stale. 2: the revenue share
# counts respondents to named surveys only (an anonymous survey's share told who answered).
# 3: no revenue share (null) where nobody answered, instead of 0.
NPS_METHOD = 3


def ledger_fingerprint() -> dict:
    rows, total = _ledger_totals()
    return {
        "ledger_rows": rows,
        "ledger_sum": str(total),
        **classification(),
        "customers_version": _version(_customer_checksums()),
    }


def survey_fingerprint() -> dict:
    """NPS inputs, in three aggregates whatever the data size (one per table):

    - responses: count and latest `updated_at` (answers are edited in place within their window);
    - invitations: how many in each state, and the suppressed ones by reason. Every transition
      (queued → failed or suppressed at send time, sent → bounced or responded, a retry of failed
      rows) moves a row from one count to another, as the sample's figures do;
    - surveys: for each kind, how many and a position-weighted sum of their ids, so a survey moving
      between the relationship and the transactional series (its answers and invitations with it)
      changes the fingerprint, two surveys swapping kinds included.

    Not seen: two invitations crossing between the same two states at once (one failed while
    another is queued again), which leaves every count as it was.
    """
    responses = Response.objects.aggregate(rows=Count("id"), changed=Max("updated_at"))
    changed = responses["changed"]
    return {
        "time_zone": settings.TIME_ZONE,  # what "a month" means to NPS (its periods are local)
        "method": NPS_METHOD,
        "responses": responses["rows"],
        "responses_changed": changed.isoformat() if changed else None,
        "invitations": Invitation.objects.aggregate(**_invitation_counts()),
        "survey_kinds": _survey_kinds(),
    }


def _invitation_counts() -> dict:
    counts = {"rows": Count("id")}
    counts |= {state: Count("id", filter=Q(state=state)) for state in InvitationState.values}
    counts |= {
        f"suppressed_{reason}": Count("id", filter=Q(state=InvitationState.SUPPRESSED, suppression_reason=reason))
        for reason in SuppressionReason.values
    }
    return counts


def _survey_kinds() -> dict:
    weight = ExpressionWrapper(F("id") % WEIGHT_MODULUS + 1, output_field=BigIntegerField())
    checksums = {}
    for kind in SurveyKind.values:
        checksums[f"{kind}_rows"] = Count("id", filter=Q(kind=kind))
        checksums[f"{kind}_sum"] = Sum(weight, filter=Q(kind=kind))
    # int(): SUM over bigint is numeric in PostgreSQL, and None over no rows
    return {key: int(value or 0) for key, value in Survey.objects.aggregate(**checksums).items()}


def fingerprint_for(kind: str, segment: str = "") -> dict:
    """The inputs a report kind depends on: the ledger for all, the surveys for NPS too, and the
    segment's customers for a segment's report (earned growth's units, NPS's revenue share)."""
    fingerprint = ledger_fingerprint()
    if kind == SnapshotKind.NPS:
        fingerprint |= survey_fingerprint()
    if segment:
        fingerprint |= segment_fingerprint(segment)
    return fingerprint


def segment_fingerprint(segment: str) -> dict:
    """The customers filed under `segment`, in one aggregate: how many, and a plain and a
    position-weighted sum of their ids, so one moving in, one moving out, or one swapped for another
    changes it. `updated_at` would not do: the imports' bulk updates leave it as it was."""
    return {SEGMENT_KEY: _ints(Customer.objects.filter(segment=segment).aggregate(**_member_checksums()))}


def segment_fingerprints() -> dict[str, dict]:
    """`segment_fingerprint()` of every segment customers are filed under, in one grouped query.

    A segment no customer carries any more is missing: `with_segment` gives it the empty one.
    """
    rows = Customer.objects.exclude(segment="").order_by().values("segment").annotate(**_member_checksums())
    return {row.pop("segment"): {SEGMENT_KEY: _ints(row)} for row in rows}


def with_segment(fingerprint: dict, segment: str, segments: dict[str, dict]) -> dict:
    """A kind's current fingerprint for a snapshot of `segment`, from `segment_fingerprints()`."""
    if not segment:
        return fingerprint
    return fingerprint | segments.get(segment, {SEGMENT_KEY: dict.fromkeys(_member_checksums(), 0)})


def is_stale(snapshot, current: dict | None = None) -> bool:
    """True unless the snapshot was computed from inputs with the current fingerprint.

    Pass `current` (of the same kind and segment; see `with_segment`) to compare many snapshots
    against one fingerprint (a list page).
    """
    if not snapshot.fingerprint:
        return True  # never computed: nothing up to date to show
    if current is None:
        current = fingerprint_for(snapshot.kind, snapshot.segment)
    return snapshot.fingerprint != current


def _ledger_totals() -> tuple[int, Decimal]:
    if connection.vendor == "sqlite":
        # SQLite keeps decimals as floats; sum exact integer cents instead, as the engine does.
        cents = Cast(Round(F("amount") * Value(100)), BigIntegerField())
        row = RevenueEntry.objects.aggregate(rows=Count("id"), total=Sum(cents))
        total = Decimal(row["total"] or 0) / 100
    else:
        row = RevenueEntry.objects.aggregate(rows=Count("id"), total=Sum("amount"))
        total = row["total"] or Decimal(0)
    return row["rows"], total.quantize(CENT)


def classification() -> dict:
    """The classification's version, and each category's class by slug (what "earned" meant)."""
    categories = list(ReasonCategory.objects.order_by("id").values_list("id", "slug", "kind", "is_active"))
    latest_history = ReasonCategory.history.aggregate(latest=Max("history_id"))["latest"]
    state = {"categories": [(pk, kind, active) for pk, _slug, kind, active in categories], "history": latest_history}
    return {
        "classification_version": _version(state),
        "classification": {slug: kind for _pk, slug, kind, _active in sorted(categories, key=lambda c: c[1])},
    }


def reclassified(before: dict, after: dict) -> list[str]:
    """The slugs of the categories whose class differs between two fingerprints' classifications.

    What makes a recompute a restatement. A category in only one of them is not a reclassification:
    one in use can be neither deleted nor renamed (its slug is locked), so it restates nothing.
    """
    old, new = before.get("classification") or {}, after.get("classification") or {}
    return sorted(slug for slug in old.keys() & new.keys() if old[slug] != new[slug])


def _version(state: dict) -> str:
    return hashlib.sha256(json.dumps(state, default=str, sort_keys=True).encode()).hexdigest()[:20]


def _customer_checksums() -> dict:
    weight = F("id") % WEIGHT_MODULUS + 1
    aggregates = {}
    for column in ("reason_id", "reason_mapped_to_id", "entity_id"):
        aggregates[f"{column}_set"] = Count(column)
        aggregates[f"{column}_sum"] = Sum(ExpressionWrapper(F(column) * weight, output_field=BigIntegerField()))
    return {key: int(value or 0) for key, value in Customer.objects.aggregate(**aggregates).items()}


def _member_checksums() -> dict:
    weighted = ExpressionWrapper(F("id") * (F("id") % WEIGHT_MODULUS + 1), output_field=BigIntegerField())
    return {"rows": Count("id"), "ids": Sum("id"), "weighted": Sum(weighted)}


def _ints(row: dict) -> dict:
    # int(): SUM over bigint is numeric in PostgreSQL, and None over no rows
    return {key: int(value or 0) for key, value in row.items()}
