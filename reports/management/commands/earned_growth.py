"""`manage.py earned_growth PERIOD [--segment S] [--grain entity|customer] [--compare prior|yoy] [--json]`."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounting.selectors import customer_segment_exists, unknown_segment_message
from cxplatform.text import canonical_text
from reports.earned_growth import ENTITY, GRAINS, EarnedGrowth, earned_growth
from reports.nps_formulas import shown_percent
from reports.periods import PRIOR, YOY, parse_period

# (label, attribute) in the order a reader follows the revenue bridge.
MONEY_LINES = (
    ("Prior revenue (R_P)", "prior_revenue"),
    ("Revenue (R_C)", "revenue"),
    ("Retained revenue", "retained_revenue"),
    ("  expansion", "expansion_revenue"),
    ("  contraction", "contraction_revenue"),
    ("  churned", "churned_revenue"),
    ("Earned new revenue", "earned_new_revenue"),
    ("Bought new revenue", "bought_new_revenue"),
    ("Unknown-reason new revenue", "unknown_new_revenue"),
    # Reactivated units are new units of every class (SPEC §3), not a part of one of them.
    ("Reactivated new revenue (any reason)", "reactivated_revenue"),
)
RATE_LINES = (
    ("Net revenue retention (NRR)", "nrr"),
    ("Gross revenue retention (GRR)", "grr"),
    ("Earned new customers (ENC)", "enc"),
    ("Bought new customers (BNC)", "bnc"),
    ("Unknown-reason new customers (UNC)", "unc"),
    ("Earned growth rate", "earned_growth_rate"),
    ("  if every unknown reason were earned", "earned_growth_rate_if_unknown_earned"),
    ("Total growth rate", "total_growth_rate"),
    ("Earned growth share", "earned_growth_share"),
    ("New revenue with a known reason", "known_reason_share"),
)
WIDTH = 40


class Command(BaseCommand):
    help = "Earned growth for a period (SPEC §3): a readable table, or the JSON of SPEC §7 with --json."

    def add_arguments(self, parser):
        parser.add_argument("period", help="a year (2025), a quarter (2025-Q3) or a month (2025-07)")
        parser.add_argument("--segment", help="only the units (entities or customers) of this segment")
        parser.add_argument("--grain", choices=GRAINS, default=ENTITY, help="unit of the figures (default: entity)")
        parser.add_argument(
            "--compare",
            choices=(PRIOR, YOY),
            default=PRIOR,
            help="against the prior period (default) or the same period a year earlier (yoy)",
        )
        parser.add_argument("--json", action="store_true", help="print the JSON of SPEC §7")

    def handle(self, *args, period, segment, grain, compare, **options):
        segment = canonical_text(segment)  # as stored (NFC)
        if segment and not customer_segment_exists(segment):
            raise CommandError(unknown_segment_message(segment))
        try:
            report = earned_growth(period=parse_period(period), compare=compare, grain=grain, segment=segment or None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report.as_json(), indent=2) if options["json"] else _table(report))


def _table(report: EarnedGrowth) -> str:
    scope = f"segment {report.segment}" if report.segment is not None else "all segments"
    lines = [f"Earned growth {report.period} vs {report.prior_period} ({report.grain} grain, {scope})", ""]
    lines += [f"{label:<{WIDTH}}{getattr(report, name):>16,.2f}" for label, name in MONEY_LINES]
    lines.append("")
    lines += [f"{label:<{WIDTH}}{shown_percent(getattr(report, name)):>16}" for label, name in RATE_LINES]
    lines.append("")
    counts = [("Units in the prior cohort", report.cohort_units)]
    counts += [(f"New units, {kind} reason", count) for kind, count in report.new_units.items()]
    counts.append(("Reactivated new units (any reason)", report.reactivated_units))
    lines += [f"{label:<{WIDTH}}{count:>16,}" for label, count in counts]
    lines += ["", *(f"Note: {note}" for note in report.notes)] if report.notes else []
    return "\n".join(lines)

