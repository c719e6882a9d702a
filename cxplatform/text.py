"""Text identities (external ids, segments, touchpoints): one spelling, one line, on every door.

"Café" typed on a keyboard (NFC, é as one code point) and "Café" written by macOS or some exports
(NFD, e + combining acute) look identical but compare unequal, so every door stores, and every
lookup compares, the NFC form. A segment or touchpoint is one line: a browser submits an option's
line break as CRLF, so a value holding one could never be chosen back from a dropdown.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError

# CR, LF, VT, FF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR: what a browser, a spreadsheet or
# str.splitlines reads as the end of a line.
LINE_BREAKS = re.compile("[\n\r\v\f\x85\u2028\u2029]+")
ONE_LINE_MESSAGE = "Use one line of text, without line breaks."


def canonical_text(value):
    """`value` in Unicode NFC (after the door's own strip); anything else as it is (None, a number)."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def has_line_break(value: str) -> bool:
    return LINE_BREAKS.search(value) is not None


def validate_no_line_break(value: str) -> None:
    if isinstance(value, str) and has_line_break(value):
        raise ValidationError(ONE_LINE_MESSAGE, code="line_break")


def one_line(value: str) -> str:
    """Each run of line breaks as one space (a legacy value stored before the rule)."""
    return LINE_BREAKS.sub(" ", value)


class CanonicalCharField(forms.CharField):
    """A form's text identity or lookup value, in NFC."""

    def to_python(self, value):
        return canonical_text(super().to_python(value))


class CanonicalChoiceField(forms.ChoiceField):
    """A dropdown of stored (NFC) names: a value sent in another form still picks its choice."""

    def to_python(self, value):
        return canonical_text(super().to_python(value))


def canonicalize_fields(instance, *names: str) -> None:
    """Put the model instance's text fields `names` in NFC; a deferred one is left unread."""
    for name in names:
        if name in instance.__dict__:
            setattr(instance, name, canonical_text(instance.__dict__[name]))
