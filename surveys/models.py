"""NPS surveys (SPEC §4): surveys, their launches, one invitation per customer, the responses.

Tokens: an invitation's link token is never stored. Each invitation keeps a random 128-bit salt;
the token is HMAC-SHA256(SECRET_KEY, salt) (256 bits, URL-safe) and only its SHA-256 is stored for
look-up. A leaked database therefore yields no working link, and the sender and the reminder can
rebuild the same link without keeping it: with the key it was made with, SECRET_KEY or, after a
rotation, one of SECRET_KEY_FALLBACKS (the one whose token matches the stored hash). A link no
configured key rebuilds is never emailed (TokenKeyMissing): it would open nothing.
"""

import base64
import hashlib
import hmac
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower, Now
from django.utils import timezone
from django.utils.encoding import punycode
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounting.models import Customer
from cxplatform.text import canonicalize_fields, validate_no_line_break

from .webhook_urls import validate_webhook_url

REMINDER_AFTER_EXPIRY = (
    "The reminder must come before the link expires: make the reminder days fewer than the expiry days."
)
# Its answers would move to the other series (SPEC §5: never mixed), past reports with them.
KIND_LOCKED = "A survey that has invited customers keeps its kind; create a new survey instead."
ANONYMITY_LOCKED = "An anonymous survey cannot be made non-anonymous."


def validate_one_line(value: str) -> None:
    """A text that goes into a mail header: a line break or other control character would break it."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValidationError("Use one line of text, without line breaks or other control characters.")

# The settings' bounds: the fields' validators, and the check constraints that hold them for every
# other writer (a survey out of them breaks its launches: see Survey.Meta).
REMINDER_DAYS_MAX = 60
EXPIRY_DAYS_MAX = 365
THROTTLE_DAYS_MAX = 365
SAMPLE_PERCENT_MIN = Decimal("0.01")

DEFAULT_QUESTION = "How likely are you to recommend {company} to a friend or colleague?"
DEFAULT_REASON_PROMPT = "What is the most important reason for your score?"
DEFAULT_IMPROVE_PROMPT = "What could we do to improve?"


class SurveyKind(models.TextChoices):
    RELATIONSHIP = "relationship", "Relationship"
    TRANSACTIONAL = "transactional", "Transactional"


class AudienceKind(models.TextChoices):
    ALL = "all", "All active customers"
    SEGMENT = "segment", "One segment"
    SAMPLE = "sample", "Random sample"
    # Hand-picked customers (a list given by API or import): flagged by the integrity panel.
    LIST = "list", "Hand-picked list"


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class Survey(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=SurveyKind.choices, default=SurveyKind.RELATIONSHIP)
    status = models.CharField(max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    question = models.CharField(
        max_length=300, default=DEFAULT_QUESTION, help_text="{company} is replaced by the company name."
    )
    reason_prompt = models.CharField(max_length=300, default=DEFAULT_REASON_PROMPT, blank=True)
    improve_prompt = models.CharField(max_length=300, default=DEFAULT_IMPROVE_PROMPT, blank=True)
    sender_name = models.CharField(
        max_length=100, blank=True, validators=[validate_one_line], help_text="Empty: the company name."
    )
    sender_email = models.EmailField(blank=True, help_text="Empty: DEFAULT_FROM_EMAIL.")
    language = models.CharField(
        max_length=10, choices=settings.LANGUAGES, blank=True,
        help_text="Empty: each customer's own language.",
    )
    anonymous = models.BooleanField(
        default=False, help_text="Nobody, admins included, sees which customer gave which answer."
    )
    reminder_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(REMINDER_DAYS_MAX)],
        help_text="Send one reminder to non-responders after this many days. Empty: no reminder.",
    )
    expiry_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(EXPIRY_DAYS_MAX)],
        help_text="An unanswered invitation expires after this many days.",
    )
    throttle_days = models.PositiveSmallIntegerField(
        default=90, validators=[MaxValueValidator(THROTTLE_DAYS_MAX)],
        help_text="Suppress customers invited to any survey in the last N days (0: no throttle).",
    )
    audience = models.CharField(max_length=10, choices=AudienceKind.choices, default=AudienceKind.ALL)
    audience_segment = models.CharField(
        max_length=100, blank=True, validators=[validate_no_line_break],
        help_text="The segment of a segment audience; of a sample, the segment it is drawn from.",
    )
    sample_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        # Decimal bounds: the float 0.01 is a hair above Decimal("0.01"), which it would refuse.
        validators=[MinValueValidator(SAMPLE_PERCENT_MIN), MaxValueValidator(Decimal(100))],
        help_text="A sample audience: this percentage of the active customers (of its segment, if named).",
    )
    # Recurring relationship surveys: the daily beat task launches a survey whose next launch is due.
    repeat_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Relaunch every N days (relationship surveys). Empty: launched by hand only.",
    )
    next_launch_at = models.DateTimeField(null=True, blank=True)
    # Set by the schedule (surveys.launch): next_launch_at is an hour later than this on a day the
    # spring change skips it (02:30 launched at 03:30), and the launches after it keep this time.
    launch_time_of_day = models.TimeField(
        null=True, blank=True, editable=False,
        help_text="The local time of day the recurring launches keep.",
    )
    owner = models.ForeignKey(  # PROTECT: a silent loss of the owner would end the alerts unseen
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Gets an email for each new detractor.",
    )
    alert_webhook_url = models.URLField(
        blank=True, validators=[validate_webhook_url],
        help_text="POSTed a JSON alert for each new detractor (http or https, a public host).",
    )
    imported = models.BooleanField(default=False, help_text="Created by import_responses.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("launch_survey", "Can launch a survey")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SurveyKind.values), name="survey_kind"),
            models.CheckConstraint(condition=Q(status__in=SurveyStatus.values), name="survey_status"),
            models.CheckConstraint(condition=Q(audience__in=AudienceKind.values), name="survey_audience"),
            # The fields' validators, for every other writer: a launch refuses a sample out of
            # range, a reminder of 0 days goes out within the hour, and a relaunch every 0 days
            # never finds its next date (launch._next_after).
            models.CheckConstraint(
                condition=Q(sample_percent__isnull=True)
                | Q(sample_percent__gte=SAMPLE_PERCENT_MIN, sample_percent__lte=100),
                name="survey_sample_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(reminder_days__isnull=True) | Q(reminder_days__gte=1, reminder_days__lte=REMINDER_DAYS_MAX),
                name="survey_reminder_days_range",
            ),
            models.CheckConstraint(
                condition=Q(expiry_days__gte=1, expiry_days__lte=EXPIRY_DAYS_MAX), name="survey_expiry_days_range"
            ),
            models.CheckConstraint(
                condition=Q(throttle_days__lte=THROTTLE_DAYS_MAX), name="survey_throttle_days_range"
            ),
            models.CheckConstraint(
                condition=Q(repeat_days__isnull=True) | Q(repeat_days__gte=1), name="survey_repeat_days_positive"
            ),
            models.CheckConstraint(
                condition=~Q(audience=AudienceKind.SEGMENT) | ~Q(audience_segment=""),
                name="survey_segment_audience_has_segment",
            ),
            models.CheckConstraint(
                condition=~Q(audience=AudienceKind.SAMPLE) | Q(sample_percent__isnull=False),
                name="survey_sample_audience_has_percent",
            ),
            # What the launch would ignore is refused instead of shown: a sample may be drawn from
            # one segment, any other audience takes neither a segment nor a percentage.
            models.CheckConstraint(
                condition=Q(audience_segment="") | Q(audience__in=[AudienceKind.SEGMENT, AudienceKind.SAMPLE]),
                name="survey_segment_only_for_segment_or_sample",
                violation_error_message="Only a segment audience or a sample names a segment.",
            ),
            models.CheckConstraint(
                condition=Q(sample_percent__isnull=True) | Q(audience=AudienceKind.SAMPLE),
                name="survey_percent_only_for_sample",
                violation_error_message="Only a sample audience takes a percentage.",
            ),
            # A hand-picked list is invited through the API, one customer at a time: nothing to relaunch.
            models.CheckConstraint(
                condition=~Q(audience=AudienceKind.LIST) | Q(repeat_days__isnull=True),
                name="survey_list_audience_not_recurring",
                violation_error_message="A hand-picked list is not relaunched on a schedule.",
            ),
            # Reminders go only to links not expired yet: a later reminder would never be sent.
            models.CheckConstraint(
                condition=Q(reminder_days__isnull=True) | Q(reminder_days__lt=models.F("expiry_days")),
                name="survey_reminder_before_expiry",
                violation_error_message=REMINDER_AFTER_EXPIRY,
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        canonicalize_fields(self, "audience_segment")
        reopened = (
            self.pk is not None and self.status != SurveyStatus.CLOSED
            and Survey.objects.filter(pk=self.pk, status=SurveyStatus.CLOSED).exists()
        )
        self._save(*args, **kwargs)
        if reopened:
            from .launch import survey_reopened

            survey_reopened(self)

    def clean(self):
        super().clean()
        canonicalize_fields(self, "audience_segment")  # in NFC, as the customers'

    def _save(self, *args, **kwargs):
        if self.anonymous and self.pk is not None:
            # Made anonymous: checked again under the row's lock, which an import of answers holds
            # until its answers are in (surveys.importing), so the two cannot cross.
            with transaction.atomic():
                stored = list(Survey.objects.select_for_update().filter(pk=self.pk).values_list("anonymous", flat=True))
                error = self.anonymity_error(anonymous=True)
                if error:
                    raise ValidationError({"anonymous": error})
                super().save(*args, **kwargs)
                written = kwargs.get("update_fields") is None or "anonymous" in kwargs["update_fields"]
                if stored == [False] and written:
                    # Made anonymous: its rows read otherwise now (answered ones "delivered", no answer
                    # or reminder date), and all take one updated_at, which no longer tells the answers'.
                    Invitation.objects.filter(survey=self).update(updated_at=timezone.now())
            return
        super().save(*args, **kwargs)

    def change_errors(self, *, kind: str, repeat_days, anonymous: bool) -> list[tuple[str, str]]:
        """(field, why) for each setting this survey, as stored, may not take: the rules the staff
        form, the admin and the API share."""
        errors = [self.kind_error(kind=kind, repeat_days=repeat_days)]
        if (anonymity := self.anonymity_error(anonymous=anonymous)) is not None:
            errors.append(("anonymous", anonymity))
        return [error for error in errors if error is not None]

    def kind_error(self, *, kind: str, repeat_days) -> tuple[str, str] | None:
        """(field, why) this survey, as stored, may not take `kind` with `repeat_days`, or None."""
        if repeat_days and kind == SurveyKind.TRANSACTIONAL:
            return "repeat_days", "Transactional surveys are sent per event, not on a schedule."
        stored = Survey.objects.filter(pk=self.pk).values_list("kind", flat=True).first()  # None: unsaved
        if stored is not None and kind != stored and self.invitations.exists():
            return "kind", KIND_LOCKED
        return None

    def anonymity_error(self, *, anonymous: bool) -> str | None:
        """Why this survey, as stored, may not take `anonymous`, or None.

        Answers given under a promise of anonymity stay anonymous; answers imported with their
        customers (import_responses) carry their times on their invitations, which would tie each
        one to its customer under the anonymous flag's promise.
        """
        stored = Survey.objects.filter(pk=self.pk).values_list("anonymous", flat=True).first()  # None: unsaved
        if stored and not anonymous:
            return ANONYMITY_LOCKED
        if anonymous and stored is False and self.responses.filter(source=ResponseSource.IMPORT).exists():
            return "This survey holds imported answers that name their customers: it cannot become anonymous."
        return None

    @property
    def question_text(self) -> str:
        return self.question.replace("{company}", settings.COMPANY_NAME)

    @property
    def from_email(self) -> str:
        from email.headerregistry import Address
        from email.utils import parseaddr

        default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        # An internationalised domain (info@bücher.de, which EmailField accepts) goes out as
        # punycode: a mail header's address is ASCII.
        local, _, domain = (self.sender_email or default_address).rpartition("@")
        # The name as typed, quoted where needed (formataddr would pre-encode "Zoë" as one RFC 2047
        # word, shown raw on staff pages and by anymail's providers): Django encodes it when sending.
        name = self.sender_name or default_name or settings.COMPANY_NAME
        return str(Address(display_name=name, addr_spec=f"{local}@{punycode(domain)}"))


class LaunchChannel(models.TextChoices):
    PAGE = "page", "survey page"
    API = "api", "API"
    COMMAND = "command", "manage.py"
    SCHEDULE = "schedule", "schedule"


class Launch(models.Model):
    """One send of a survey to its audience: the sample, fixed when launched, for the audit."""

    # PROTECT, as every survey record's: a launched survey is kept (closed), its sample with it.
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="launches")
    audience = models.CharField(max_length=10, choices=AudienceKind.choices)
    audience_segment = models.CharField(max_length=100, blank=True)
    sample_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    sample_seed = models.CharField(max_length=32, blank=True)
    launched_at = models.DateTimeField(default=timezone.now)
    launched_by = models.ForeignKey(  # PROTECT: a record keeps its "who"; deactivate users instead
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    audience_size = models.PositiveIntegerField(default=0)
    # How it was launched: a command's launch has no user either, and is not the schedule's.
    via = models.CharField(max_length=10, choices=LaunchChannel.choices, default=LaunchChannel.SCHEDULE)
    # Not stored: set after the launch's commit, False when the broker refused its senders.
    sending_queued = None

    class Meta:
        ordering = ["-launched_at", "-id"]

    def __str__(self):
        # In the company's zone, as the admin shows launched_at itself (it is stored in UTC).
        return f"{self.survey} launched {timezone.localtime(self.launched_at):%Y-%m-%d %H:%M}"


class InvitationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"  # claimed by a worker, in the SMTP conversation
    SENT = "sent", "Sent"
    RESPONDED = "responded", "Responded"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    EXPIRED = "expired", "Expired"
    SUPPRESSED = "suppressed", "Suppressed"


class SuppressionReason(models.TextChoices):
    OPTED_OUT = "opted_out", "Opted out"
    THROTTLED = "throttled", "Throttled (surveyed recently)"
    NO_EMAIL = "no_email", "No email address"
    BOUNCED_BEFORE = "bounced_before", "Address bounced before"


# States in which the email reached (or may have reached) the customer: the response-rate base.
DELIVERED_STATES = (InvitationState.SENT, InvitationState.RESPONDED, InvitationState.EXPIRED)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_salt() -> str:
    return secrets.token_hex(16)


class TokenKeyMissing(Exception):
    """The invitation's link was made with a SECRET_KEY that is neither SECRET_KEY nor in
    SECRET_KEY_FALLBACKS now: the link rebuilt with today's key would open nothing."""


def _token(key: str, salt: str) -> str:
    digest = hmac.new(key.encode(), f"invitation:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_from_salt(salt: str) -> str:
    """A new invitation's token: made with the current SECRET_KEY."""
    return _token(settings.SECRET_KEY, salt)


def token_for(salt: str, token_hash: str) -> str:
    """The token whose SHA-256 is `token_hash` (the link the customer has, or will get): made with
    SECRET_KEY or, for an invitation made before a rotation, one of SECRET_KEY_FALLBACKS. No hash
    yet (an unsaved invitation, a preview): the current key's."""
    if not token_hash:
        return token_from_salt(salt)
    for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        token = _token(key, salt)
        if hash_token(token) == token_hash:
            return token
    raise TokenKeyMissing(
        "This invitation's link was made with a SECRET_KEY no longer configured: put the old key in "
        "SECRET_KEY_FALLBACKS to email it (its answer link opens with any key)."
    )


class Invitation(models.Model):
    # PROTECT: the sample is kept for good (SPEC §4). Neither its survey, its launch nor its customer
    # is deleted from under it, by a shell or a data migration either (nor by the admin: its pages
    # say so as for missing permissions, see surveys.admin and accounting.admin).
    # No index of its own: the composite indexes below begin with it, and each index slows a launch.
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations", db_index=False)
    launch = models.ForeignKey(Launch, null=True, blank=True, on_delete=models.PROTECT, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField(blank=True, help_text="The address at the time of sending.")
    language = models.CharField(max_length=10, default="en")
    token_salt = models.CharField(max_length=32, default=new_token_salt, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # NFC and one line, as a segment (cxplatform.text): the NPS filters match it exactly.
    touchpoint = models.CharField(max_length=100, blank=True, validators=[validate_no_line_break])
    reference = models.CharField(max_length=200, blank=True, help_text="Order, ticket or SKU.")
    # The sample of a segment's NPS counts the invitations made while the customer was in it, as
    # its responses count the answers given while they were.
    segment = models.CharField(max_length=100, blank=True, help_text="The customer's segment when invited.")
    state = models.CharField(max_length=12, choices=InvitationState.choices, default=InvitationState.QUEUED)
    suppression_reason = models.CharField(max_length=20, choices=SuppressionReason.choices, blank=True)
    send_after = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    reminder_claimed_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When a value the API shows last changed: every write of one sets it (UPDATEs name it, as
    # auto_now covers save() only), the API's incremental pulls page by it (`changed_after`). An
    # anonymous survey's answers, reminders and expiries leave it: they must not set the row apart.
    # The database default serves rows inserted by SQL (the benchmarks').
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "send_after"], name="invitation_state_due"),
            models.Index(fields=["customer", "sent_at"], name="invitation_customer_sent"),
            models.Index(fields=["survey", "state"], name="invitation_survey_state"),
            # The default order, read from an index rather than by sorting every invitation: the
            # API's list, and a survey's page (one survey may hold a million invitations).
            models.Index(fields=["survey", "-created_at", "-id"], name="invitation_survey_newest"),
            models.Index(fields=["-created_at", "-id"], name="invitation_newest"),
            models.Index(fields=["updated_at", "id"], name="invitation_updated"),  # the API's changed_after
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["launch", "customer"], condition=Q(launch__isnull=False), name="invitation_once_per_launch"
            ),
            # A transactional trigger is one event: a retried POST must not invite (or email) twice.
            models.UniqueConstraint(
                fields=["survey", "customer", "reference"], condition=~Q(reference=""),
                name="invitation_once_per_reference",
            ),
            models.CheckConstraint(condition=Q(state__in=InvitationState.values), name="invitation_state"),
            # The answer page finds the invitation by this hash alone.
            models.CheckConstraint(condition=~Q(token_hash=""), name="invitation_token_hash_set"),
            # The sweeper fails a row left sending by its claim's age (sending.fail_interrupted): a
            # row sending without one would never be swept, and would throttle its customer for good.
            models.CheckConstraint(
                condition=~Q(state=InvitationState.SENDING) | Q(claimed_at__isnull=False),
                name="invitation_sending_claimed",
            ),
            # Its reminder is due by sent_at, its link expires at expires_at: without them neither happens.
            models.CheckConstraint(
                condition=~Q(state=InvitationState.SENT) | Q(sent_at__isnull=False, expires_at__isnull=False),
                name="invitation_sent_has_times",
            ),
            models.CheckConstraint(
                condition=Q(state=InvitationState.SUPPRESSED, suppression_reason__in=SuppressionReason.values)
                | (~Q(state=InvitationState.SUPPRESSED) & Q(suppression_reason="")),
                name="invitation_suppressed_has_reason",
            ),
        ]

    def __str__(self):
        # No state: the admin shows this in titles and autocompletes, and for an anonymous survey
        # whether an invitation was answered must not show.
        return f"Invitation #{self.pk}"

    def save(self, *args, **kwargs):
        # Only a new row needs its hash; reading it on an update would load a deferred field.
        if self._state.adding and not self.token_hash:
            self.token_hash = hash_token(self.token)
        canonicalize_fields(self, "touchpoint", "segment")
        super().save(*args, **kwargs)

    @property
    def token(self) -> str:
        return token_for(self.token_salt, self.token_hash)

    @property
    def is_expired(self) -> bool:
        return self.state == InvitationState.EXPIRED or (
            self.expires_at is not None and self.responded_at is None and timezone.now() >= self.expires_at
        )


class ResponseCategory(models.TextChoices):
    PROMOTER = "promoter", _("Promoter")
    PASSIVE = "passive", _("Passive")
    DETRACTOR = "detractor", _("Detractor")


def category_for(score: int) -> str:
    if score >= 9:
        return ResponseCategory.PROMOTER
    if score >= 7:
        return ResponseCategory.PASSIVE
    return ResponseCategory.DETRACTOR


class ResponseSource(models.TextChoices):
    WEB = "web", "Answer page"
    IMPORT = "import", "Imported"
    API = "api", "API"


# The longest follow-up note, as the staff form's textarea counts it (a line break is one): the
# staff form and the API share it.
FOLLOW_UP_NOTE_MAX_LENGTH = 5000


class Response(models.Model):
    """One answer per invitation; a re-post within the edit window updates it, kept in history."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    # Copies for reporting without joins; the customer is hidden everywhere for anonymous surveys.
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="survey_responses")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    category = models.CharField(max_length=10, choices=ResponseCategory.choices, editable=False)
    reason = models.TextField(blank=True)
    suggestion = models.TextField(blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    touchpoint = models.CharField(max_length=100, blank=True, validators=[validate_no_line_break])
    segment = models.CharField(max_length=100, blank=True, help_text="The customer's segment when answering.")
    language = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=10, choices=ResponseSource.choices, default=ResponseSource.WEB)
    followed_up_at = models.DateTimeField(null=True, blank=True)
    followed_up_by = models.ForeignKey(  # PROTECT: a record keeps its "who"; deactivate users instead
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    follow_up_note = models.TextField(blank=True)
    # The detractor alert, kept as an outbox in the answer's own transaction: due until the alert
    # task has delivered (or given up); enqueued_at is when it was last handed to the broker, None
    # when the broker refused, so that `alerts.sweep_detractor_alerts` hands it over again.
    alert_due = models.BooleanField(default=False, editable=False)
    alert_enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Each part of the due alert once delivered, so a task run again (the sweeper after a worker
    # died between the parts, a redelivered message) never sends that part twice.
    alert_emailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    alert_posted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A part of the alert is being delivered since then (None: no part is), so two runs of the task
    # at the same moment never both send it; `alerts` gives it back when the part is done.
    alert_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(
        excluded_fields=["alert_due", "alert_enqueued_at", "alert_emailed_at", "alert_posted_at", "alert_claimed_at"]
    )

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(fields=["survey", "answered_at"], name="response_survey_answered"),
            models.Index(fields=["answered_at"], name="response_answered"),
            models.Index(fields=["updated_at", "id"], name="response_updated"),  # the API's incremental pulls
            models.Index(fields=["alert_enqueued_at"], condition=Q(alert_due=True), name="response_alert_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=10), name="response_score_0_10"),
            models.CheckConstraint(
                condition=Q(category="promoter", score__gte=9)
                | Q(category="passive", score__gte=7, score__lte=8)
                | Q(category="detractor", score__lte=6),
                name="response_category_matches_score",
            ),
        ]

    def __str__(self):
        # No survey name: the admin's history and delete pages print one per row, a query each.
        return f"Response #{self.pk}: {self.score} ({self.category})"

    def save(self, *args, **kwargs):
        self.category = category_for(self.score)
        canonicalize_fields(self, "touchpoint", "segment")
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "score" in update_fields:
            kwargs["update_fields"] = {*update_fields, "category"}
        super().save(*args, **kwargs)


class AddressEventKind(models.TextChoices):
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained (marked as spam)"


ADDRESS_MAX_LENGTH = 254


def address_lowered(email: str) -> str:
    """An address as SuppressedAddress keeps a row of it: trimmed, lower-cased."""
    return email.strip().lower()


def address_normalized(email: str) -> str:
    """An address trimmed, lower-cased, its domain in Unicode: how the admin names an address.

    Django sends an internationalised domain in punycode (jo@bücher.de goes out as
    jo@xn--bcher-kva.de), so that is the address a provider's bounce names, while a customer's is
    stored as typed. Punycode that does not decode is kept as given.
    """
    email = address_lowered(email)
    local, at, domain = email.rpartition("@")
    if not at or "xn--" not in domain:
        return email
    try:
        domain = domain.encode("ascii").decode("idna")
    except UnicodeError:
        return email
    return f"{local}@{domain.lower()}"


def address_ascii(email: str) -> str | None:
    """The address as it goes out (its domain in punycode, as Django sends it), if that differs."""
    local, at, domain = email.rpartition("@")
    if not at or domain.isascii():
        return None
    try:
        sent = f"{local}@{punycode(domain)}".lower()
    except UnicodeError:  # a label too long or empty: no such address goes out either
        return None
    return sent if len(sent) <= ADDRESS_MAX_LENGTH else None


def address_forms(email: str) -> list[str]:
    """Every lower-cased form of an address that SuppressedAddress keeps a row of: as given, first,
    then for an internationalised domain its Unicode form and its punycode form (as it is sent).

    jo@straße.de is sent as jo@strasse.de (IDNA 2003 maps ß to ss), so that is one of its forms;
    jo@strasse.de has no other form (it does not map back).
    """
    given = address_lowered(email)
    unicode = address_normalized(given)
    forms = [given]
    for form in (unicode, address_ascii(unicode)):
        if form and form not in forms:
            forms.append(form)
    return forms


class SuppressedAddressQuerySet(models.QuerySet):
    def of_address(self, address):
        """The entry of a lower-cased address (a string, or an expression in a query).

        One equality on `email`, on purpose: every form of an address has its own row, so inside
        EXISTS PostgreSQL hashes the suppressed list once (an OR over two columns made it probe
        the list once per customer, 20 times slower on a launch).
        """
        return self.filter(email=address)

    def forms_add(self, forms: list[str], **fields) -> None:
        """A row for each of these forms of an address that has none; rows listed already are kept
        as they are (so this is safe to repeat, and against a concurrent webhook)."""
        self.bulk_create([self.model(email=form, **fields) for form in forms if form], ignore_conflicts=True)

    def delete_with_forms(self) -> None:
        """Delete these entries and the rows of their addresses' other forms: one suppression."""
        with transaction.atomic():
            emails = set(self.values_list("email", flat=True))
            others = self.model.objects.suppression_of(emails) - emails  # few: internationalised ones
            self.delete()
            if others:
                self.model.objects.filter(email__in=others).delete()

    def suppression_of(self, emails) -> set[str]:
        """The listed forms that are one suppression with any of `emails`, in both directions: the
        forms of each address, and the listed addresses one of whose forms it is (jo@strasse.de is
        a form of jo@straße.de, which IDNA maps there but not back). Only an address with a
        non-ASCII character or a punycode label has forms other than itself: those few rows are
        read, in one query (an OR of a prefix per address overflowed SQLite's expression depth)."""
        forward = {form for email in emails for form in address_forms(email)}
        if not forward:
            return set()
        locals_ = {email.rpartition("@")[0] for email in forward}
        unicode_rows = self.filter(email__regex=r"[^\x00-\x7f]|xn--").values_list("email", flat=True)
        return forward | {
            other for other in unicode_rows
            if other.rpartition("@")[0] in locals_ and forward & set(address_forms(other))
        }


class SuppressedAddress(models.Model):
    """An address that bounced hard or complained: never emailed again (suppressed 'bounced before').

    An address on an internationalised domain has a row in each form (`address_forms`): the
    Unicode one a customer's address is typed in, the punycode one it is sent and bounced as.
    """

    email = models.EmailField(
        unique=True,
        help_text="Stored lower-cased; an internationalised domain has a row in each form "
        "(jo@bücher.de, jo@xn--bcher-kva.de).",
    )
    kind = models.CharField(max_length=12, choices=AddressEventKind.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SuppressedAddressQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "suppressed addresses"
        # Every look-up is one equality with a lower-cased address: a row in capitals suppresses nobody.
        constraints = [models.CheckConstraint(condition=Q(email=Lower("email")), name="suppressed_address_lower_case")]

    def __str__(self):
        return f"{self.email} ({self.kind})"

    def save(self, *args, **kwargs):
        self.email = address_lowered(self.email)
        with transaction.atomic():
            super().save(*args, **kwargs)
            # The address's other forms too (an admin types jo@bücher.de; it is sent as punycode).
            others = address_forms(self.email)[1:]
            if others:
                type(self).objects.forms_add(others, kind=self.kind, detail=self.detail, created_at=self.created_at)
