"""Forms of the accounting staff UI: list filters, the acquisition reason, the import upload."""

from pathlib import PurePath

from django import forms
from django.db.models import Q

from cxplatform.text import CanonicalChoiceField
from cxplatform.token_pages import TextareaField

from .imports import COLUMNS
from .models import REASON_TEXT_MAX_LENGTH, ImportKind, ReasonCategory, ReasonKind

# Enough of a file to tell a text CSV from a spreadsheet or other binary saved as .csv.
SNIFF_BYTES = 4096

# Workbooks renamed to .csv: an .xlsx/.ods is a zip, an old .xls an OLE2 compound file.
SPREADSHEET_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# Text that is not UTF-8: Excel's "Unicode Text" and other UTF-16/32 files (UTF-32 LE's BOM starts
# with UTF-16 LE's).
WIDE_TEXT_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")

# The staff search boxes' cap, which the Django admin's search shares (cxplatform/admin_guards.py).
SEARCH_MAX_LENGTH = 200


class CustomerFilterForm(forms.Form):
    """GET filters of the customer list; an invalid value is dropped, not an error page."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.SearchInput(attrs={"placeholder": "External id, name or email"}),
    )
    segment = CanonicalChoiceField(label="Segment", required=False)
    reason_class = forms.ChoiceField(
        label="Reason class",
        required=False,
        choices=[("", "Any")] + list(ReasonKind.choices),
    )

    def __init__(self, *args, segments: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", "Any")] + [(s, s) for s in segments]

    def filters(self) -> dict[str, str]:
        """The valid filters, keyed as selectors.customer_list expects them."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "search": (data.get("q") or "").strip(),
            "segment": data.get("segment") or "",
            "reason_class": data.get("reason_class") or "",
        }


class CustomerReasonForm(forms.Form):
    """Staff record why a customer chose the company; "other" needs its free text."""

    reason = forms.ModelChoiceField(
        label="Primary reason",
        queryset=ReasonCategory.objects.filter(is_active=True).order_by("order", "label"),
        empty_label="Choose a reason…",
    )
    # Line breaks counted once (as the textarea counts them) and stored as LF, as on the reason page.
    reason_text = TextareaField(
        label="Details",
        required=False,
        max_length=REASON_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when the reason is Other.",
    )

    def __init__(self, *args, current_reason_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if current_reason_id is not None:
            # The customer's own category stays choosable once retired (a corrected text), as the
            # import, the API and the admin accept it; and the form shows it.
            self.fields["reason"].queryset = ReasonCategory.objects.filter(
                Q(is_active=True) | Q(pk=current_reason_id)
            ).order_by("order", "label")

    def clean(self):
        data = super().clean()
        reason = data.get("reason")
        is_other = reason is not None and reason.slug == ReasonCategory.OTHER_SLUG
        if is_other and not (data.get("reason_text") or "").strip():
            self.add_error("reason_text", "Please say what the other reason is.")
        return data


def _mostly_nul(head: bytes) -> bool:
    """UTF-16 text without a BOM is about half NULs, UTF-32 three quarters; a CSV with a stray
    NUL in a cell is not, and goes on to the importer, which names the cell."""
    return head.count(b"\x00") * 4 > len(head)


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file contains", choices=ImportKind.choices)
    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={"empty": "The file is empty: expected a header row and data rows."},
    )

    # Survey answers come with their surveys (a missing one is created): a custom group allowed to
    # import ledger files is not thereby allowed to add answers.
    RESPONSES_NEED = ("surveys.add_response", "surveys.add_survey")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if kind == ImportKind.RESPONSES and self.user is not None and not self.user.has_perms(self.RESPONSES_NEED):
            raise forms.ValidationError("Importing survey responses needs the permission to add surveys and responses.")
        return kind

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if PurePath(upload.name).suffix.lower() != ".csv":
            raise forms.ValidationError(
                "Only CSV files can be imported (the name must end in .csv). Save a spreadsheet as “CSV UTF-8” first."
            )
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        if not head.strip():
            raise forms.ValidationError("The file is empty: expected a header row and data rows.")
        if head.startswith(SPREADSHEET_SIGNATURES):
            raise forms.ValidationError(
                "This is not a CSV text file (it looks like a spreadsheet or another binary "
                "file). Save it as “CSV UTF-8” and upload that."
            )
        if head.startswith(WIDE_TEXT_BOMS) or _mostly_nul(head):
            raise forms.ValidationError(
                "This is not a CSV text file in UTF-8 (it looks like UTF-16 text, as Excel's "
                "“Unicode Text” writes, or another binary file). Save it as “CSV UTF-8” and upload that."
            )
        # A few NULs in a text file are cells the importer reports by row and column.
        return upload

    @staticmethod
    def expected_headers() -> list[tuple[str, str]]:
        """(kind label, CSV header) for each kind, to show next to the form."""
        return [(label, ",".join(COLUMNS[kind])) for kind, label in ImportKind.choices]
