"""The arithmetic of SPEC §5 on counts, exact in Decimal: NPS, its margin, its interval, a change.

Counts go in, never percentages: NPS from rounded shares drifts (2 promoters, 3 passives and
1 detractor are 33 % and 17 %, "16", while the NPS is 16.67, shown 17).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

Z_95 = Decimal("1.96")
HUNDRED = Decimal(100)
_CONTEXT = Context(prec=28)
PLACES = 4  # of the figures in JSON and CSV


def nps(promoters: int, detractors: int, responses: int) -> Decimal | None:
    """100 × (promoters − detractors) / responses; None without responses."""
    if responses <= 0:
        return None
    return HUNDRED * (promoters - detractors) / responses


def margin_of_error(promoters: int, detractors: int, responses: int) -> Decimal | None:
    """95 % margin in NPS points: 1.96 × 100 × √((p + d − (p − d)²) / n).

    One variance of the difference of two shares of the same sample: promoters and detractors are
    not independent, so two separate variances are never added.
    """
    if responses <= 0:
        return None
    p = Decimal(promoters) / responses
    d = Decimal(detractors) / responses
    return Z_95 * HUNDRED * _sqrt((p + d - (p - d) ** 2) / responses)


def adjusted_wald(promoters: int, detractors: int, responses: int) -> tuple[Decimal, Decimal] | None:
    """The adjusted-Wald 95 % interval: n + 3, promoters + 0.75, detractors + 0.75, clamped to ±100.

    It stays sensible for small samples (n = 1 or all promoters), where the plain margin is 0.
    """
    if responses <= 0:
        return None
    n = Decimal(responses) + 3
    p = (promoters + Decimal("0.75")) / n
    d = (detractors + Decimal("0.75")) / n
    centre = p - d
    half = Z_95 * _sqrt((p + d - centre**2) / n)
    return max(-HUNDRED, HUNDRED * (centre - half)), min(HUNDRED, HUNDRED * (centre + half))


def shown(value: Decimal | None, places: int = 0) -> Decimal | None:
    """Rounded half away from zero for display (16.5 → 17, −16.5 → −17); exact values stay stored.

    Never a negative zero: an NPS of −0.4 is shown "0", not "-0" (Decimal keeps the sign)."""
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) + 0


def shown_percent(rate: Decimal | None) -> str:
    """A rate kept as a fraction, for the commands' tables: "6.3%" (one decimal, rounded as the
    dashboards round; Python's format rounds half to even), "n/a" when undefined."""
    return "n/a" if rate is None else f"{shown(rate * 100, 1):,}%"


# Below this many answers in either period the normal approximation behind the margin says little:
# one promoter against one detractor has margins of 0, and a "significant" change of 200 points.
MIN_RESPONSES_TO_JUDGE = 30


@dataclass(frozen=True)
class Change:
    difference: Decimal | None
    combined_margin: Decimal | None
    significant: bool
    too_few: bool = False  # fewer than MIN_RESPONSES_TO_JUDGE answers in a period: not judged


def change(before: tuple[int, int, int], after: tuple[int, int, int]) -> Change:
    """NPS after − before, and whether it is significant: it exceeds the combined margin
    √(m₁² + m₂²) of the two samples (SPEC §5: only then), each of at least MIN_RESPONSES_TO_JUDGE."""
    nps_before, nps_after = nps(*before), nps(*after)
    if nps_before is None or nps_after is None:
        return Change(None, None, False)
    combined = _sqrt(margin_of_error(*before) ** 2 + margin_of_error(*after) ** 2)
    difference = nps_after - nps_before
    too_few = min(before[2], after[2]) < MIN_RESPONSES_TO_JUDGE
    return Change(difference, combined, abs(difference) > combined and not too_few, too_few)


def _sqrt(value: Decimal) -> Decimal:
    return value.sqrt(_CONTEXT) if value > 0 else Decimal(0)


def quantized(value: Decimal | None) -> Decimal | None:
    """To 4 places, as stored figures are shown in JSON and CSV, rounded half away from zero as
    everywhere (0.78125 → 0.7813; Decimal's default would give 0.7812); None stays None."""
    return shown(value, PLACES)


def as_text(value: Decimal | None) -> str | None:
    """Fixed-point string with 4 places for JSON; None stays None."""
    value = quantized(value)
    return None if value is None else format(value, "f")
