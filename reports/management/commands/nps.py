"""`manage.py nps PERIOD [--survey ID] [--segment S] [--touchpoint T] [--type relationship|transactional] [--latest]
[--json]`."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounting.selectors import unknown_segment_message
from cxplatform.text import canonical_text
from reports.nps import ALL, LATEST, NpsReport, nps_report
from reports.nps_formulas import shown, shown_percent
from reports.periods import parse_period
from reports.segments import nps_segment_known
from surveys.models import Survey, SurveyKind

WIDTH = 34


class Command(BaseCommand):
    help = "NPS for a period (SPEC §5) with its margin and sample: a readable table, or SPEC §7's JSON."

    def add_arguments(self, parser):
        parser.add_argument("period", help="a year (2025), a quarter (2025-Q3) or a month (2025-07)")
        parser.add_argument("--survey", type=int, help="only this survey (its id)")
        parser.add_argument("--segment", help="only answers given by customers of this segment")
        parser.add_argument("--touchpoint", help="only answers (and invitations) of this touchpoint")
        parser.add_argument(
            "--type", choices=SurveyKind.values, dest="survey_type",
            help="the series without --survey (default: relationship); series are never mixed",
        )
        parser.add_argument("--latest", action="store_true", help="count only each customer's latest answer")
        parser.add_argument("--json", action="store_true", help="print the JSON of SPEC §7")

    def handle(self, *args, period, survey, segment, touchpoint, survey_type, latest, **options):
        segment, touchpoint = canonical_text(segment), canonical_text(touchpoint)  # as stored (NFC)
        if segment and not nps_segment_known(segment):
            raise CommandError(unknown_segment_message(segment))
        try:
            chosen = Survey.objects.get(pk=survey) if survey is not None else None
            report = nps_report(
                period=parse_period(period), survey=chosen, survey_type=survey_type,
                segment=segment or None, touchpoint=touchpoint or None, counting=LATEST if latest else ALL,
            )
        except Survey.DoesNotExist:
            raise CommandError(f"no survey with id {survey}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report.as_json(), indent=2) if options["json"] else _table(report))


def _table(report: NpsReport) -> str:
    counts, sample = report.counts, report.sample
    scope = [report.survey_type]
    scope += [f"survey {report.survey}"] if report.survey else []
    scope += [f"segment {report.segment}"] if report.segment is not None else []
    scope += [f"touchpoint {report.touchpoint}"] if report.touchpoint is not None else []
    lines = [f"NPS {report.period} ({', '.join(scope)}; counting {report.counting} answers)", ""]
    if counts.nps is None:
        lines.append(f"{'NPS':<{WIDTH}}{'n/a (no answers)':>16}")
    else:
        low, high = counts.interval
        lines += [
            f"{'NPS':<{WIDTH}}{shown(counts.nps):>16}",
            f"{'  exact':<{WIDTH}}{shown(counts.nps, 2):>16}",
            f"{'  margin of error (95%)':<{WIDTH}}{f'±{shown(counts.margin_of_error, 1)}':>16}",
            f"{'  adjusted-Wald interval':<{WIDTH}}{f'{shown(low, 1)} to {shown(high, 1)}':>16}",
        ]
    rows = [
        ("Responses", counts.responses), ("  promoters (9-10)", counts.promoters),
        ("  passives (7-8)", counts.passives), ("  detractors (0-6)", counts.detractors), ("", None),
        ("Invited", sample.invited), ("  suppressed", sample.suppressed_total),
        *((f"    {reason.replace('_', ' ')}", n) for reason, n in sample.suppressed.items() if n),
        ("  delivered", sample.delivered), ("  bounced", sample.bounced), ("  failed", sample.failed),
        ("  responded", sample.responded),
    ]
    lines += [f"{label:<{WIDTH}}{value:>16,}" if value is not None else "" for label, value in rows]
    lines.append(f"{'Response rate (of delivered)':<{WIDTH}}{shown_percent(sample.response_rate):>16}")
    lines.append(f"{'Revenue held by respondents':<{WIDTH}}{shown_percent(report.revenue_share):>16}")
    return "\n".join(lines)

