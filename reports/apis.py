"""REST API of the reports app (SPEC §7): `/api/reports/earned-growth/?period=`, `/api/reports/nps/?period=`.

Views parse the query, call the report's selector, and return its JSON as is: the API, the
command's `--json` and the snapshots all speak the same keys.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounting.selectors import customer_segment_exists, unknown_segment_message
from cxplatform.text import canonical_text
from surveys.models import Survey, SurveyKind

from .earned_growth import ENTITY, GRAINS, earned_growth
from .nps import ALL, LATEST, nps_report, series_conflict
from .periods import PRIOR, YOY, parse_period
from .segments import nps_segment_known


class PeriodQuerySerializer(serializers.Serializer):
    """The `period` parameter every report takes, parsed into a Period."""

    period = serializers.CharField(help_text="A year (2025), a quarter (2025-Q3) or a month (2025-07).")

    def validate_period(self, value):
        try:
            return parse_period(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class EarnedGrowthQuerySerializer(PeriodQuerySerializer):
    compare = serializers.ChoiceField(
        choices=[(PRIOR, "The prior period"), (YOY, "The same period a year earlier")],
        default=PRIOR,
        help_text="Compare with the prior period of the same length, or (yoy) the same period a year earlier.",
    )
    grain = serializers.ChoiceField(
        choices=[(grain, grain) for grain in GRAINS],
        default=ENTITY,
        help_text="entity: customers rolled up to their top ancestor (default); customer: each customer.",
    )
    segment = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Only the units (entities or customers) of this segment; blank: all segments.",
    )

    def validate_segment(self, value):
        value = canonical_text(value)  # as stored (cxplatform.text)
        if value and not customer_segment_exists(value):
            raise serializers.ValidationError(unknown_segment_message(value))
        return value or None

    def validate_touchpoint(self, value):
        return canonical_text(value) or None


def _money(help_text: str = "") -> serializers.DecimalField:
    # No digit limit: a period sums any number of 12-digit lines, and ratios of such sums grow alike.
    return serializers.DecimalField(max_digits=None, decimal_places=2, help_text=help_text)


def _rate(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=None, decimal_places=6, allow_null=True, help_text=help_text)


class EarnedGrowthReportSerializer(serializers.Serializer):
    """Documents the JSON of SPEC §7; money has 2 decimals, rates are fractions (0.85), null where undefined."""

    period = serializers.CharField()
    prior_period = serializers.CharField()
    grain = serializers.ChoiceField(choices=[(grain, grain) for grain in GRAINS])
    segment = serializers.CharField(required=False, help_text="Present when the report is for one segment.")
    prior_revenue = _money("R_P: ledger revenue dated in the prior period.")
    revenue = _money("R_C: ledger revenue dated in the period.")
    retained_revenue = _money("Revenue in the period from the cohort (units with revenue in the prior period).")
    earned_new_revenue = _money("Revenue from new units acquired for an earned reason.")
    bought_new_revenue = _money("Revenue from new units acquired for a bought reason.")
    unknown_new_revenue = _money("Revenue from new units with no reason or an unmapped 'other'.")
    reactivated_revenue = _money("Part of the new revenue from units that had revenue before.")
    expansion_revenue = _money()
    contraction_revenue = _money()
    churned_revenue = _money()
    nrr = _rate("Net revenue retention: retained / R_P.")
    grr = _rate("Gross revenue retention.")
    enc = _rate("Earned new customers: earned new revenue / R_P.")
    bnc = _rate("Bought new customers: bought new revenue / R_P.")
    unc = _rate("Unknown-reason new customers: unknown new revenue / R_P.")
    earned_growth_rate = _rate("nrr + enc - 1.")
    total_growth_rate = _rate("R_C / R_P - 1.")
    earned_growth_share = _rate("earned_growth_rate / total_growth_rate, only when total growth is above 0.")
    earned_growth_rate_if_unknown_earned = _rate("Upper bound: nrr + enc + unc - 1.")
    known_reason_share = _rate("Share of new revenue whose acquisition reason is known.")
    cohort_units = serializers.IntegerField()
    new_units = serializers.DictField(child=serializers.IntegerField(), help_text="Counts by earned, bought, unknown.")
    reactivated_units = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.CharField(), help_text="Why a figure is null, and similar.")


def report_responses(report_serializer) -> dict:
    """What a report endpoint answers: the report, or why not."""
    return {
        200: report_serializer,
        400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad parameter: messages by parameter name."),
        401: OpenApiResponse(OpenApiTypes.OBJECT, description="No or invalid credentials."),
        403: OpenApiResponse(OpenApiTypes.OBJECT, description="The user's role lacks reports.view_reports."),
    }


class EarnedGrowthView(APIView):
    """Earned growth for a period (SPEC §3), computed from the ledger."""

    required_permission = "reports.view_reports"

    @extend_schema(
        summary="Earned growth for a period",
        parameters=[EarnedGrowthQuerySerializer],
        responses=report_responses(EarnedGrowthReportSerializer),
    )
    def get(self, request):
        query = EarnedGrowthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = earned_growth(**query.validated_data)
        return Response(report.as_json())


class NpsQuerySerializer(PeriodQuerySerializer):
    survey = serializers.IntegerField(required=False, help_text="Only this survey (its id).")
    segment = serializers.CharField(required=False, allow_blank=True, help_text="Only answers from this segment.")
    touchpoint = serializers.CharField(
        required=False, allow_blank=True, help_text="Only answers (and invitations) of this touchpoint."
    )
    type = serializers.ChoiceField(
        choices=SurveyKind.choices, required=False,
        help_text=(
            "The series when no survey is given (default relationship); with a survey, its own series or"
            " nothing (400 otherwise). Series are never mixed."
        ),
    )
    counting = serializers.ChoiceField(
        choices=[(ALL, "Every answer"), (LATEST, "Each customer's latest answer")], default=ALL
    )

    def validate_survey(self, value):
        try:
            return Survey.objects.get(pk=value)
        except Survey.DoesNotExist:
            raise serializers.ValidationError(f"No survey with id {value}.") from None

    def validate(self, attrs):
        if conflict := series_conflict(attrs.get("survey"), attrs.get("type")):
            raise serializers.ValidationError({"type": conflict})
        return attrs

    def validate_segment(self, value):
        value = canonical_text(value)  # as stored (cxplatform.text)
        if value and not nps_segment_known(value):
            raise serializers.ValidationError(unknown_segment_message(value))
        return value or None

    def validate_touchpoint(self, value):
        return canonical_text(value) or None


class NpsReportSerializer(serializers.Serializer):
    """Documents the NPS JSON of SPEC §7: NPS exact (4 places) and shown, rates as fractions."""

    period = serializers.CharField()
    responses = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    nps = _rate("100 × (promoters − detractors) / responses, exact; null without answers.")
    nps_shown = serializers.IntegerField(allow_null=True, help_text="NPS rounded half away from zero.")
    margin_of_error = _rate("95% margin in NPS points.")
    ci_low = _rate("Adjusted-Wald 95% interval, low end.")
    ci_high = _rate("Adjusted-Wald 95% interval, high end.")
    invited = serializers.IntegerField(help_text="Invitation rows, suppressed ones included.")
    suppressed = serializers.IntegerField()
    suppressed_by_reason = serializers.DictField(child=serializers.IntegerField())
    delivered = serializers.IntegerField()
    bounced = serializers.IntegerField()
    failed = serializers.IntegerField()
    responded = serializers.IntegerField()
    response_rate = _rate("responded / delivered.")
    revenue_share_of_respondents = _rate(
        "Share of the period's ledger revenue held by the respondents to non-anonymous surveys; null"
        " when nobody answered or every answer in the scope is to an anonymous survey."
    )
    survey_type = serializers.ChoiceField(choices=SurveyKind.choices)
    survey = serializers.IntegerField(allow_null=True)
    segment = serializers.CharField(allow_null=True)
    touchpoint = serializers.CharField(allow_null=True)
    counting = serializers.CharField()
    distribution = serializers.ListField(child=serializers.IntegerField(), help_text="Answers per score 0..10.")


class NpsView(APIView):
    """NPS for a period (SPEC §5) with its margin, interval and sample."""

    required_permission = "reports.view_reports"

    @extend_schema(
        summary="NPS for a period",
        parameters=[NpsQuerySerializer],
        responses=report_responses(NpsReportSerializer),
    )
    def get(self, request):
        query = NpsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        report = nps_report(
            period=params["period"], survey=params.get("survey"), survey_type=params.get("type"),
            segment=params.get("segment"), touchpoint=params.get("touchpoint"), counting=params["counting"],
        )
        return Response(report.as_json())
