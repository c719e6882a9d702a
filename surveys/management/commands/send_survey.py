"""`manage.py send_survey NAME [--segment S] [--sample PCT]` (SPEC §7): launch a relationship survey."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounting.selectors import customer_segment_exists, unknown_segment_message
from cxplatform.text import canonical_text
from surveys.forms import LaunchForm
from surveys.launch import SENDING_NOT_STARTED, launch_counts, survey_launch
from surveys.models import LaunchChannel, SuppressionReason, Survey, SurveyKind


def _percent(value: str) -> Decimal:
    # The launch form's own field: its bounds and its 2 decimals, which the Launch stores, so the
    # recorded percentage replays the draw (14.999 would be stored as 15.00).
    try:
        percent = LaunchForm.base_fields["sample_percent"].clean(value)
    except ValidationError as exc:
        problem = " ".join(exc.messages)
    else:
        if percent is not None:
            return percent
        problem = "Give the percentage to sample."  # the form's empty means "the survey's audience"
    raise CommandError(f"--sample must be a percentage as on the launch form, not {value!r}: {problem}")


class Command(BaseCommand):
    help = "Launch the relationship survey NAME (created with the default wording if missing) to its audience."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Survey name")
        parser.add_argument("--segment", help="Only customers of this segment")
        parser.add_argument(
            "--sample", help="A random sample of this percentage of the audience (0.01 to 100, at most 2 decimals)"
        )

    def handle(self, *args, name, segment=None, sample=None, **options):
        name = name.strip()
        if not name:
            raise CommandError("The survey name must not be empty.")
        longest = Survey._meta.get_field("name").max_length
        if len(name) > longest:
            raise CommandError(f"The survey name has {len(name)} characters; at most {longest} are allowed.")
        percent = _percent(sample) if sample is not None else None
        segment = canonical_text(segment)  # as stored (NFC)
        if segment is not None and not customer_segment_exists(segment):
            raise CommandError(unknown_segment_message(segment))
        survey, created = Survey.objects.get_or_create(name=name, defaults={"kind": SurveyKind.RELATIONSHIP})
        if survey.kind != SurveyKind.RELATIONSHIP:
            raise CommandError(f"Survey {name!r} is {survey.kind}; only relationship surveys are launched.")
        try:
            launch = survey_launch(survey=survey, via=LaunchChannel.COMMAND, segment=segment, sample_percent=percent)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self._report(survey, launch, created)

    def _report(self, survey, launch, created):
        counts = launch_counts(launch)
        if created:
            self.stdout.write(f"Created relationship survey {survey.name!r} with the default wording.")
        self.stdout.write(f"Launched {survey.name!r} (launch #{launch.pk}, audience: {launch.get_audience_display()}"
                          + (f", seed {launch.sample_seed}" if launch.sample_seed else "") + ")")
        self.stdout.write(f"audience: {counts['audience']}")
        self.stdout.write(f"queued: {counts['queued']}")
        suppressed = counts["suppressed"]
        self.stdout.write(f"suppressed: {sum(suppressed.values())}")
        for reason in SuppressionReason:
            self.stdout.write(f"  {reason.label}: {suppressed[reason.value]}")
        if counts["queued"] and launch.sending_queued is False:
            self.stderr.write(SENDING_NOT_STARTED)
