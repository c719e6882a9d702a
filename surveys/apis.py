"""REST API of the surveys app (SPEC §7): surveys (a hand-picked list survey invites the customers
POSTed to its `invite/`), invitations (POST = transactional trigger) and responses (PATCH = follow-up
only).

Anonymous surveys: a response never carries its customer, invitation, touchpoint, segment or
language, and an invitation never says whether it was answered (see surveys.selectors).
"""

from copy import copy
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response as ApiResponse

from accounting.apis import (
    UNIQUE_CONFLICT,
    CanonicalCharField,
    ErrorDetailSerializer,
    MethodsBeforeRolesMixin,
    SlugRelatedField,
    django_errors_as_400,
    documented,
)
from accounting.models import Customer
from cxplatform.api_serializers import WritableFieldsOnlyMixin
from cxplatform.api_writes import UniqueWritesMixin
from cxplatform.text import validate_no_line_break

from . import selectors
from .clock import OUT_OF_RANGE, on_company_clock
from .failures import invitation_failure_reason
from .filters import InvitationFilter, ResponseFilter, SurveyFilter
from .followups import follow_up_note_as_sent, response_follow_up
from .launch import (
    audience_change_error,
    invitation_get_or_create_transactional,
    launch_counts,
    survey_launch,
    survey_retry_failed,
)
from .models import (
    FOLLOW_UP_NOTE_MAX_LENGTH,
    Invitation,
    InvitationState,
    LaunchChannel,
    Response,
    SuppressionReason,
    Survey,
    SurveyKind,
)
from .rules import RULE_FIELDS, survey_rule_errors

MAX_DELAY_MINUTES = 60 * 24 * 30
MAX_LISTED_CUSTOMERS = 10_000  # one hand-picked list per request; a longer one goes in several

# --- Surveys -------------------------------------------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    audience = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    responded = serializers.IntegerField()
    failed = serializers.IntegerField()
    bounced = serializers.IntegerField()
    expired = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    opted_out = serializers.IntegerField()
    throttled = serializers.IntegerField()
    no_email = serializers.IntegerField()
    bounced_before = serializers.IntegerField()
    reminded = serializers.IntegerField(help_text="Reminders sent, whatever the invitation's state since.")
    delivered = serializers.IntegerField(help_text="sent + responded + expired")
    response_rate = serializers.FloatField(allow_null=True, help_text="responded / delivered, a fraction.")


class CompanyDateTimeField(serializers.DateTimeField):
    """A date and time as the staff form and the admin read it (surveys.clock): one without an
    offset is on the company's clock, a time the autumn change repeats its first occurrence, one
    the spring change skips refused (DRF's own check let it through, stored an hour later); one
    past the calendar's edge is a field error, not a 500 when stored."""

    default_error_messages = {**serializers.DateTimeField.default_error_messages, "overflow": OUT_OF_RANGE}

    def enforce_timezone(self, value):
        if timezone.is_aware(value):  # an offset given, or a stored value shown: DRF's conversion
            return super().enforce_timezone(value)
        try:
            return on_company_clock(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None


def _by_field(errors: list[tuple[str, str]]) -> dict[str, list[str]]:
    """(field, why) pairs as DRF's 400 body: each field's messages in a list."""
    grouped = {}
    for field, message in errors:
        grouped.setdefault(field, []).append(message)
    return grouped


class SurveySerializer(WritableFieldsOnlyMixin, serializers.ModelSerializer):
    next_launch_at = CompanyDateTimeField(
        required=False, allow_null=True,
        help_text="Without an offset: on the company's clock. A time the spring change skips is refused; "
        "one the autumn change repeats is its first occurrence.",
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True,
        help_text="Emailed for each new detractor; set in the UI.",
    )
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = [
            "id", "name", "kind", "status", "question", "reason_prompt", "improve_prompt",
            "sender_name", "sender_email", "language", "anonymous", "reminder_days", "expiry_days",
            "throttle_days", "audience", "audience_segment", "sample_percent", "repeat_days",
            "next_launch_at", "owner", "alert_webhook_url", "imported", "created_at", "updated_at",
            "progress",
        ]
        read_only_fields = ["imported", "created_at", "updated_at"]
        # The model's validator holds a float, which DRF warns about for a DecimalField.
        extra_kwargs = {"sample_percent": {"min_value": Decimal("0.01"), "max_value": Decimal(100)}}

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name == "audience_segment":  # in NFC, as the customers' segments
            field_class = CanonicalCharField
        return field_class, kwargs

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, survey):
        progress = getattr(survey, "progress", None) or selectors.survey_progress(survey)
        return {**vars(progress), "delivered": progress.delivered, "response_rate": progress.response_rate}

    def validate(self, data):
        survey = self.instance or Survey()  # a PATCH leaves what it does not send as stored
        errors = survey.change_errors(
            kind=data.get("kind", survey.kind),
            repeat_days=data.get("repeat_days", survey.repeat_days),
            anonymous=data.get("anonymous", survey.anonymous),
        )
        # The staff form's words beside the field, before the constraints that hold the same rules.
        errors += survey_rule_errors({name: data.get(name, getattr(survey, name)) for name in RULE_FIELDS})
        if errors:
            raise serializers.ValidationError(_by_field(errors))
        # The model's other check constraints as a 400, not a 500.
        candidate = copy(self.instance) if self.instance is not None else Survey()
        for name, value in data.items():
            setattr(candidate, name, value)
        with django_errors_as_400():
            candidate.validate_constraints()
        # A typo (SMBB for SMB) would make every launch refuse it; checked when the audience changes.
        if error := audience_change_error(self.instance, candidate.audience, candidate.audience_segment):
            raise serializers.ValidationError({"audience_segment": [error]})
        return data

    def create(self, validated_data):
        return super().create({**validated_data, "owner": self.context["request"].user})

    def update(self, survey, validated_data):
        # Only the columns sent: a save of every column would write back, from this copy, those a
        # launch writes (status, next_launch_at) had they changed since it was read.
        for name, value in validated_data.items():
            setattr(survey, name, value)
        survey.save(update_fields=[*validated_data, "updated_at"])
        return survey


class LaunchRequestSerializer(WritableFieldsOnlyMixin, serializers.Serializer):
    segment = CanonicalCharField(required=False, allow_blank=True, max_length=100)
    sample_percent = serializers.DecimalField(
        required=False, allow_null=True, max_digits=5, decimal_places=2,
        min_value=Decimal("0.01"), max_value=Decimal(100),
    )


class InviteRequestSerializer(WritableFieldsOnlyMixin, serializers.Serializer):
    customers = serializers.ListField(
        child=CanonicalCharField(max_length=100), min_length=1, max_length=MAX_LISTED_CUSTOMERS,
        help_text="External ids of the customers to invite; a duplicate counts once.",
    )


class LaunchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    launched_at = serializers.DateTimeField()
    audience = serializers.CharField()
    audience_segment = serializers.CharField()
    sample_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    audience_size = serializers.IntegerField()
    via = serializers.ChoiceField(choices=LaunchChannel.choices, help_text="How it was launched.")
    queued = serializers.IntegerField(help_text="Invitations queued for sending.")
    suppressed = serializers.DictField(child=serializers.IntegerField(), help_text="By suppression reason.")

    def to_representation(self, launch):
        # The counts the survey page reports after a launch: one aggregate over its invitations.
        counts = launch_counts(launch)
        row = {name: getattr(launch, name, None) for name in self.fields}
        return super().to_representation({**row, "queued": counts["queued"], "suppressed": counts["suppressed"]})


class RetryFailedRequestSerializer(WritableFieldsOnlyMixin, serializers.Serializer):
    include_interrupted = serializers.BooleanField(
        default=False, help_text="Also rows interrupted while sending, which may already have arrived.",
    )


class RetryFailedSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    suppressed = serializers.DictField(child=serializers.IntegerField(), help_text="By suppression reason.")
    kept_interrupted = serializers.IntegerField(
        help_text="Interrupted invitations that would now be suppressed, left failed: not resent, their link "
        "still works."
    )


def _survey_schema(summary: str, code: int = 200, *, write: bool = False):
    ok = {code: SurveySerializer, 409: UNIQUE_CONFLICT} if write else {code: SurveySerializer}
    return extend_schema(summary=summary, responses=documented(ok))


@extend_schema_view(
    list=_survey_schema("List surveys with their progress"),
    retrieve=_survey_schema("A survey with its progress"),
    create=_survey_schema("Add a survey", 201, write=True),
    update=_survey_schema("Replace a survey's settings", write=True),
    partial_update=_survey_schema("Edit a survey's settings", write=True),
    destroy=extend_schema(
        summary="Delete a survey that has no invitation (admins)",
        responses=documented({
            204: None,
            409: OpenApiResponse(
                ErrorDetailSerializer, description="The survey has been launched: close it instead."
            ),
        }),
    ),
)
class SurveyViewSet(MethodsBeforeRolesMixin, UniqueWritesMixin, viewsets.ModelViewSet):
    """NPS surveys. A survey with invitations cannot be deleted: close it instead."""

    serializer_class = SurveySerializer
    filterset_class = SurveyFilter
    search_fields = ["name__ifind"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.survey_list()

    def get_object(self):
        survey = super().get_object()
        if self.request.method in ("PUT", "PATCH"):
            # The row lock a launch holds while it invites and starts the schedule: the edit waits
            # for it, then checks its change (a survey keeps its kind once it invited anybody)
            # against the survey as the launch left it.
            with selectors.survey_kept():
                survey.refresh_from_db(from_queryset=Survey.objects.select_for_update())
        return survey

    @transaction.atomic  # the lock above is held from the checks to the save
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    def paginate_queryset(self, queryset):
        # The progress of the page's surveys only, in one query, after the count of surveys alone.
        page = super().paginate_queryset(queryset)
        return None if page is None else selectors.with_progress(page)

    @transaction.atomic
    def perform_destroy(self, instance):
        # The row lock a launch takes first (survey_launch): a launch under way commits before the
        # check below, which then sees its records; without it the delete failed on their FK (500).
        if not Survey.objects.select_for_update().filter(pk=instance.pk).values_list("pk").first():
            raise Http404  # a delete at the same time got there first
        # Its launches are records too, even one that reached nobody (the admin keeps them alike).
        if instance.invitations.exists() or instance.launches.exists():
            raise Conflict("This survey has been launched; set its status to closed instead.")
        try:
            instance.delete()
        except ProtectedError as exc:
            raise Conflict(exc.args[0]) from exc  # its message; str(exc) also listed the rows

    @extend_schema(
        summary="Launch a relationship survey to its audience",
        request=LaunchRequestSerializer,
        responses=documented({201: LaunchSerializer}),
    )
    @action(detail=True, methods=["post"], required_permission="surveys.launch_survey")
    def launch(self, request, pk=None):
        survey = self.get_object()
        body = LaunchRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with selectors.survey_kept(), django_errors_as_400():
            launch = survey_launch(
                survey=survey, user=request.user, via=LaunchChannel.API,
                segment=body.validated_data.get("segment") or None,
                sample_percent=body.validated_data.get("sample_percent"),
            )
        return ApiResponse(LaunchSerializer(launch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Invite customers of a hand-picked list survey",
        description=(
            "One launch to the customers named by external id, each invitation queued or suppressed with "
            "its reason as a launch's. A survey of any other audience is launched instead (`launch/`). "
            "An unknown id refuses the whole list (400, each unknown id listed under `customers`). A "
            "customer still holding an open link of this survey (a retried request) is suppressed as "
            "throttled, not emailed twice."
        ),
        request=InviteRequestSerializer,
        responses=documented({201: LaunchSerializer}),
    )
    @action(detail=True, methods=["post"], required_permission="surveys.launch_survey")
    def invite(self, request, pk=None):
        survey = self.get_object()
        body = InviteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with selectors.survey_kept(), django_errors_as_400():
            launch = survey_launch(
                survey=survey, user=request.user, via=LaunchChannel.API, customers=body.validated_data["customers"]
            )
        return ApiResponse(LaunchSerializer(launch).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Queue the survey's failed invitations again, each checked anew",
        request=RetryFailedRequestSerializer,
        responses=documented({200: RetryFailedSerializer}),
    )
    @action(detail=True, methods=["post"], url_path="retry-failed", required_permission="surveys.launch_survey")
    def retry_failed(self, request, pk=None):
        survey = self.get_object()
        body = RetryFailedRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with selectors.survey_kept(), django_errors_as_400():
            retry = survey_retry_failed(survey=survey, include_interrupted=body.validated_data["include_interrupted"])
        return ApiResponse(RetryFailedSerializer(retry).data)


class Conflict(APIException):
    """A 409 as `{"detail": "..."}`, the shape of every other API error (a ValidationError made it a
    bare list)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# --- Invitations ---------------------------------------------------------------------------------


class InvitationSerializer(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    state = serializers.SerializerMethodField(
        help_text="An anonymous survey's sent, responded and expired invitations all read 'delivered'."
    )
    responded_at = serializers.SerializerMethodField(help_text="Always null for an anonymous survey.")
    reminder_sent_at = serializers.SerializerMethodField(help_text="Always null for an anonymous survey.")
    failure_reason = serializers.SerializerMethodField(
        help_text=(
            "Why a failed or bounced invitation did not arrive, in short: the mail server's reply code and "
            "text (\"550 5.1.1 User unknown\") or the connection's error, never the address. Empty in every "
            "other state shown."
        )
    )
    # Declared because a read-only field from the model loses allow_blank: "" means not suppressed.
    suppression_reason = serializers.ChoiceField(
        choices=SuppressionReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Invitation
        fields = [
            "id", "survey", "launch", "customer", "touchpoint", "reference", "state",
            "suppression_reason", "send_after", "sent_at", "expires_at", "responded_at",
            "reminder_sent_at", "bounced_at", "failure_reason", "created_at", "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "updated_at": {
                "help_text": "When a value shown here last changed. An anonymous survey's answers, reminders and "
                "expiries, which its invitations do not show, leave it as it is.",
            },
        }

    @extend_schema_field(serializers.ChoiceField(choices=[*InvitationState.values, selectors.DELIVERED_LABEL]))
    def get_state(self, invitation):
        return selectors.invitation_state_shown(invitation)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_responded_at(self, invitation):
        return None if invitation.survey.anonymous else _iso(invitation.responded_at)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_reminder_sent_at(self, invitation):
        # Reminders go to non-responders only, so their date would tell who answered.
        return None if invitation.survey.anonymous else _iso(invitation.reminder_sent_at)

    @extend_schema_field(serializers.CharField())
    def get_failure_reason(self, invitation):
        return invitation_failure_reason(invitation)


def _iso(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class TriggerSerializer(WritableFieldsOnlyMixin, serializers.Serializer):
    """A transactional trigger: one event (order, ticket) of one customer."""

    survey = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.all())
    customer = SlugRelatedField(
        slug_field="external_id", queryset=Customer.objects.all(), help_text="External id of the customer."
    )
    touchpoint = CanonicalCharField(max_length=100, validators=[validate_no_line_break])
    reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="Order, ticket or SKU. The same survey, customer and reference are one event (idempotent).",
    )
    delay_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_DELAY_MINUTES, required=False, default=0,
        help_text="Send this many minutes after the event.",
    )

    def validate_survey(self, survey):
        if survey.kind != SurveyKind.TRANSACTIONAL:
            raise serializers.ValidationError("Only a transactional survey is triggered per event.")
        return survey


@extend_schema_view(
    list=extend_schema(summary="List invitations", responses=documented({200: InvitationSerializer})),
    retrieve=extend_schema(summary="An invitation", responses=documented({200: InvitationSerializer})),
    create=extend_schema(
        summary="Trigger a transactional survey for one customer",
        description=(
            "Queues one invitation (or records it suppressed, with the reason): 201. Send a `reference` "
            "(order, ticket) to make the trigger idempotent: a repeat with the same survey, customer and "
            "reference returns the existing invitation with 200 and invites nobody again. Without a "
            "reference every trigger is a new event."
        ),
        request=TriggerSerializer,
        responses=documented({
            201: InvitationSerializer,
            200: OpenApiResponse(InvitationSerializer, description="A repeat: the event's existing invitation."),
        }),
    ),
)
class InvitationViewSet(MethodsBeforeRolesMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Invitations. Search (`search=`) looks in the reference, the touchpoint and the customer's
    external id: what every listed invitation shows, an anonymous survey's too (never whether it
    was answered: its state reads "delivered", and the state filter skips it)."""

    queryset = Invitation.objects.select_related("survey", "customer")
    serializer_class = InvitationSerializer
    filterset_class = InvitationFilter
    search_fields = ["reference", "touchpoint", "customer__external_id"]
    ordering_fields = ["created_at", "sent_at", "id"]

    def get_serializer_class(self):
        return TriggerSerializer if self.action == "create" else InvitationSerializer

    def create(self, request):
        trigger = self.get_serializer(data=request.data)
        trigger.is_valid(raise_exception=True)
        data = trigger.validated_data
        with selectors.survey_kept(), django_errors_as_400():
            invitation, created = invitation_get_or_create_transactional(
                survey=data["survey"], customer=data["customer"], touchpoint=data["touchpoint"],
                reference=data["reference"], delay=timedelta(minutes=data["delay_minutes"]),
            )
        body = InvitationSerializer(invitation, context=self.get_serializer_context()).data
        return ApiResponse(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Responses -----------------------------------------------------------------------------------


class FollowUpNoteField(serializers.CharField):
    """The follow-up note as the staff page takes it (surveys.forms.FollowUpNoteField): line breaks
    counted once against the limit and stored as LF.

    The note the response holds, sent back unchanged (a client echoing what it read, to reopen the
    response), is that note: accepted even over the limit (stored before there was one), and kept
    as stored (CRLF included), so that the echo alone changes nothing.
    """

    def to_internal_value(self, data):
        return follow_up_note_as_sent(super().to_internal_value(data), self.stored_note())

    def run_validators(self, value):
        if value != self.stored_note():  # the limit is for new notes
            super().run_validators(value)

    def stored_note(self) -> str | None:
        response = getattr(self.parent, "instance", None)
        return response.follow_up_note if isinstance(response, Response) else None


class ResponseSerializer(WritableFieldsOnlyMixin, serializers.ModelSerializer):
    customer = serializers.SerializerMethodField(help_text="External id; null for an anonymous survey.")
    invitation = serializers.SerializerMethodField(help_text="Null for an anonymous survey.")
    touchpoint = serializers.SerializerMethodField(help_text="Null for an anonymous survey.")
    segment = serializers.SerializerMethodField(
        help_text="The customer's segment when answering; null for an anonymous survey."
    )
    language = serializers.SerializerMethodField(help_text="Null for an anonymous survey.")
    followed_up_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    followed_up = serializers.BooleanField(
        write_only=True, required=False, help_text="true: mark followed up now; false: reopen."
    )
    follow_up_note = FollowUpNoteField(
        required=False, allow_blank=True, max_length=FOLLOW_UP_NOTE_MAX_LENGTH,
        help_text=f"At most {FOLLOW_UP_NOTE_MAX_LENGTH:,} characters, a line break counting as one (stored as LF). "
        "The note the response holds may be sent back unchanged, whatever its length.",
    )

    class Meta:
        model = Response
        fields = [
            "id", "survey", "invitation", "customer", "score", "category", "reason", "suggestion",
            "answered_at", "updated_at", "touchpoint", "segment", "language", "source", "followed_up",
            "followed_up_at", "followed_up_by", "follow_up_note",
        ]
        # Only the follow-up may change: a new score is refused (WritableFieldsOnlyMixin), not ignored.
        read_only_fields = [f for f in fields if f not in ("followed_up", "follow_up_note")]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_customer(self, response):
        return selectors.response_identity(response).external_id or None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_invitation(self, response):
        return selectors.response_identity(response).invitation_id

    # An invitation lists its customer with its touchpoint, and a segment may hold one customer:
    # an anonymous survey's answer carries neither (nor its language), or two reads would name them.
    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_touchpoint(self, response):
        return _unless_hidden(selectors.response_identity(response), "touchpoint")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_segment(self, response):
        return _unless_hidden(selectors.response_identity(response), "segment")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_language(self, response):
        return _unless_hidden(selectors.response_identity(response), "language")

    def update(self, instance, validated_data):
        # A note alone means "followed up"; `followed_up: false` reopens the response.
        default = instance.followed_up_at is not None or "follow_up_note" in validated_data
        done = validated_data.get("followed_up", default)
        note = validated_data.get("follow_up_note", instance.follow_up_note)
        return response_follow_up(response=instance, user=self.context["request"].user, note=note, done=done)


def _unless_hidden(identity: selectors.Identity, name: str) -> str | None:
    return None if identity.hidden else getattr(identity, name)


@extend_schema_view(
    list=extend_schema(summary="List responses", responses=documented({200: ResponseSerializer})),
    retrieve=extend_schema(summary="A response", responses=documented({200: ResponseSerializer})),
    partial_update=extend_schema(
        summary="Record the follow-up of a response",
        description="Only `followed_up` and `follow_up_note` can change.",
        responses=documented({200: ResponseSerializer}),
    ),
)
class ResponseViewSet(MethodsBeforeRolesMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """NPS answers. Search (`search=`) looks in the reason and suggestion texts, ignoring case and
    accents. An anonymous survey's answers are unlinked verbatims: no customer, invitation,
    touchpoint, segment or language, and the touchpoint and segment filters never match them."""

    queryset = Response.objects.select_related("survey", "customer", "followed_up_by")
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter
    search_fields = ["reason__ifind", "suggestion__ifind"]
    ordering_fields = ["answered_at", "updated_at", "score", "id"]
    http_method_names = ["get", "patch", "head", "options"]
