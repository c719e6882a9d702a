"""Forms of the surveys staff UI: the survey settings, the launch confirmation, response filters
and the follow-up note."""

from copy import copy
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from cxplatform.text import CanonicalCharField
from cxplatform.token_pages import TextareaField

from .clock import read_on_company_clock
from .followups import follow_up_note_as_sent
from .launch import audience_change_error
from .models import (
    FOLLOW_UP_NOTE_MAX_LENGTH,
    KIND_LOCKED,
    Response,
    ResponseCategory,
    Survey,
    SurveyKind,
)
from .rules import survey_rule_errors
from .selectors import ResponseFilters, alert_owner_choices, response_segment_known


def limit_to_alert_owners(field: forms.ModelChoiceField, *, current_owner_id: int | None) -> None:
    """Offer and accept as a survey's owner only the users its detractor alerts can go to, and its
    current owner: one since deactivated (or made a viewer) stays until staff choose another, rather
    than being cleared by a save of something else; they get no alert meanwhile. The staff form and
    the admin share it."""
    choices = alert_owner_choices()
    if current_owner_id:
        choices = (
            get_user_model()
            .objects.filter(Q(pk__in=choices.values("pk")) | Q(pk=current_owner_id))
            .order_by("username")
        )
    field.queryset = choices
    field.help_text = "Gets an email for each new detractor (active staff who may see responses)."
    field.error_messages["invalid_choice"] = (
        "Choose an active user who may see responses: detractor alerts are emailed only to them."
    )


class CompanyDateTimeField(forms.DateTimeField):
    """A date and time on the company's clock, read by read_on_company_clock (surveys.clock)."""

    def to_python(self, value):
        return read_on_company_clock(lambda: super(CompanyDateTimeField, self).to_python(value))


class CompanySplitDateTimeField(forms.SplitDateTimeField):
    """The admin's date and time boxes, read by read_on_company_clock."""

    def compress(self, data_list):
        return read_on_company_clock(lambda: super(CompanySplitDateTimeField, self).compress(data_list))


def add_survey_rule_errors(form: forms.ModelForm, data: dict) -> None:
    """The audience and reminder rules (surveys.rules), each beside its field: the staff form and
    the admin share them. A field whose value was refused already ('12,5': not a number) keeps
    that one message."""
    for field, message in survey_rule_errors(data):
        if field in form.fields and field not in form.errors:
            form.add_error(field, message)


# What a launch writes on the survey while an edit page may be open.
LAUNCH_WRITTEN = ("status", "next_launch_at")


def changed_columns(survey: Survey, stored: Survey, names, *, page_changed=None) -> list[str]:
    """Which of the columns `names` an edit changes from the row as stored (read under its lock),
    with updated_at: what the staff form and the admin save. A save of every column would also write
    back, from the form's copy, those the edit left alone; a launch writes status and next_launch_at.

    `page_changed`: the form's changed_data, which for LAUNCH_WRITTEN compares with what the page
    showed (show_launch_written_as_shown): a page opened before a launch and saved after it would
    otherwise put back the status and next launch it showed, and undo the launch's schedule."""
    fields = [Survey._meta.get_field(name) for name in names]
    changed = [field.name for field in fields if getattr(survey, field.attname) != getattr(stored, field.attname)]
    if page_changed is not None:
        changed = [name for name in changed if name not in LAUNCH_WRITTEN or name in page_changed]
    return [*changed, "updated_at"]


def show_launch_written_as_shown(form: forms.ModelForm) -> None:
    """Post back, beside the launch-written fields, the values the page showed (Django's hidden
    initial), so `changed_data` tells what the person changed, not what a launch changed since."""
    for name in LAUNCH_WRITTEN:
        if name in form.fields:
            form.fields[name].show_hidden_initial = True


class SurveyForm(forms.ModelForm):
    alert_webhook_url = forms.URLField(
        label="Alert webhook URL",
        required=False,
        assume_scheme="https",
        help_text=Survey._meta.get_field("alert_webhook_url").help_text,
    )

    class Meta:
        model = Survey
        fields = [
            "name",
            "kind",
            "status",
            "question",
            "reason_prompt",
            "improve_prompt",
            "sender_name",
            "sender_email",
            "language",
            "anonymous",
            "reminder_days",
            "expiry_days",
            "throttle_days",
            "audience",
            "audience_segment",
            "sample_percent",
            "repeat_days",
            "next_launch_at",
            "owner",
            "alert_webhook_url",
        ]
        # The browser's datetime-local input reads and sends ISO only: a localized value (German
        # "03.12.2026 06:00") would show empty and be saved empty, silently ending the schedule.
        widgets = {"next_launch_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}
        field_classes = {"next_launch_at": CompanyDateTimeField, "audience_segment": CanonicalCharField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit_to_alert_owners(self.fields["owner"], current_owner_id=self.instance.owner_id)
        if self.instance.pk is not None:
            self.stored = copy(self.instance)  # `clean` writes the posted values onto the instance
            self.lock_settings_in_use()
            show_launch_written_as_shown(self)

    def lock_settings_in_use(self) -> None:
        """Show as locked, with the reason, what this survey may no longer change, rather than
        refuse it after a submit: its kind once customers were invited; its anonymity when the
        other value would be refused (once anonymous; holding imported answers that name customers)."""
        survey = self.instance
        if survey.invitations.exists():
            self.lock("kind", KIND_LOCKED)
        if reason := survey.anonymity_error(anonymous=not survey.anonymous):
            self.lock("anonymous", reason)

    def lock(self, name: str, reason: str) -> None:
        """A disabled field keeps the stored value whatever is posted (browsers post none)."""
        self.fields[name].disabled = True
        self.fields[name].help_text = reason

    def locked_changes(self) -> list[str]:
        """Why a posted change of a locked setting was not saved: a hand-made post, or a page shown
        before a launch locked the kind (a browser posts no disabled control)."""
        return [
            f"{field.label} not changed: {field.help_text}"
            for name, field in self.fields.items()
            if field.disabled and name in self.data and field.to_python(self.data[name]) != self[name].initial
        ]

    def save(self, commit=True):
        if commit and self.instance.pk is not None:
            survey = super().save(commit=False)
            survey.save(update_fields=changed_columns(survey, self.stored, self.fields, page_changed=self.changed_data))
            return survey
        return super().save(commit)

    def clean(self):
        data = super().clean()
        add_survey_rule_errors(self, data)
        self.check_segment(data.get("audience"), data.get("audience_segment"))
        for field, message in self.instance.change_errors(
            kind=data.get("kind"), repeat_days=data.get("repeat_days"), anonymous=bool(data.get("anonymous"))
        ):
            self.add_error(field, message)
        return data

    def check_segment(self, audience, segment) -> None:
        """A typo (SMBB for SMB) would make every launch, the daily relaunch too, refuse it.
        `clean` runs before the instance takes the posted values: it is still as stored."""
        stored = self.instance if self.instance.pk is not None else None
        if error := audience_change_error(stored, audience, segment):
            self.add_error("audience_segment", error)


class LaunchForm(forms.Form):
    """The launch button's confirmation; the audience fields override the survey's for one send."""

    confirm = forms.BooleanField(
        label="Yes, send this survey to its audience now",
        error_messages={"required": "Tick the box to confirm the launch."},
    )
    segment = CanonicalCharField(required=False, max_length=100, help_text="Empty: the survey's audience.")
    sample_percent = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(100),
        decimal_places=2,
        help_text="Empty: the survey's audience.",
    )


class RetryFailedForm(forms.Form):
    include_interrupted = forms.BooleanField(
        required=False,
        label="Also those interrupted while sending: they may already have arrived, so those customers "
        "could get the email twice",
    )


class ResponseFilterForm(forms.Form):
    """GET filters of the response list; an invalid value is dropped, not an error page.

    Checking a filter lists no choices, so the CSV export reads none: the touchpoint is typed (the
    page suggests recent ones), and a segment is checked on its own. `offer_segments` fills the
    segment dropdown when the page is drawn."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(attrs={"placeholder": "Words in the reason or suggestion"}),
    )
    survey = forms.ModelChoiceField(label="Survey", required=False, queryset=Survey.objects.order_by("name"))
    kind = forms.ChoiceField(label="Series", required=False, choices=[("", "Any")] + list(SurveyKind.choices))
    band = forms.ChoiceField(label="Score", required=False, choices=[("", "Any")] + list(ResponseCategory.choices))
    touchpoint = CanonicalCharField(
        label="Touchpoint",
        required=False,
        max_length=Response._meta.get_field("touchpoint").max_length,
        widget=forms.TextInput(attrs={"list": "touchpoint-suggestions", "placeholder": "Any"}),
    )
    segment = CanonicalCharField(
        label="Segment",
        required=False,
        max_length=Response._meta.get_field("segment").max_length,
        widget=forms.Select(choices=[("", "Any")]),
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    followed_up = forms.ChoiceField(
        label="Follow-up", required=False, choices=[("", "Any"), ("no", "Not yet"), ("yes", "Done")]
    )

    def offer_segments(self, segments: list[str]) -> None:
        self.fields["segment"].widget.choices = [("", "Any")] + [(s, s) for s in segments]

    def clean_segment(self):
        segment = self.cleaned_data["segment"]
        if segment and not response_segment_known(segment):
            raise forms.ValidationError(
                f"No customer or answer is in segment {segment!r} (segments match exactly, case included)."
            )
        return segment

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "This is before the “From” date: no answer could match.")
        return data

    def filters(self) -> ResponseFilters:
        self.is_valid()
        data = self.cleaned_data
        followed = data.get("followed_up")
        return ResponseFilters(
            survey=data.get("survey"),
            kind=data.get("kind") or "",
            band=data.get("band") or "",
            touchpoint=data.get("touchpoint") or "",
            segment=data.get("segment") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            search=(data.get("q") or "").strip(),
            followed_up=None if not followed else followed == "yes",
        )


class FollowUpNoteField(TextareaField):
    """The follow-up note: line breaks counted once, as the textarea's maxlength counts them (the
    browser posts CRLF), and stored as LF.

    The note the response holds (`stored`), posted back unchanged to reopen the response or tick it
    done, is that note: accepted even over the limit (stored before there was one), and kept as
    stored (CRLF included), so that posting it back changes nothing. The API does the same
    (surveys.apis.FollowUpNoteField).
    """

    stored: str | None = None

    def to_python(self, value):
        return follow_up_note_as_sent(super().to_python(value), self.stored)

    def run_validators(self, value):
        if value != self.stored:  # the limit is for new notes
            super().run_validators(value)


class FollowUpForm(forms.Form):
    note = FollowUpNoteField(
        label="Note", required=False, max_length=FOLLOW_UP_NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )
    done = forms.BooleanField(label="Followed up", required=False, initial=True)

    def __init__(self, *args, stored_note: str | None = None, **kwargs):
        """`stored_note`: the response's note as saved, which may come back unchanged whatever its length."""
        super().__init__(*args, **kwargs)
        self.fields["note"].stored = stored_note
