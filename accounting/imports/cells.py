"""Parsers for one cell each: return the clean value or raise CellError saying what was expected.

They return strings where the database takes text (COPY), so the hot path builds no objects it
does not need.
"""

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .problems import CellError

# ASCII digits only: Python's \d also takes Arabic-Indic and other digits, which the database does not.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_AMOUNT = re.compile(r"-?\d{1,12}(?:\.\d{1,2})?", re.ASCII)
_AMOUNT_TOO_LARGE = re.compile(r"-?\d{13,}(?:\.\d{1,2})?", re.ASCII)  # the columns hold 12 digits
_LANGUAGES = {code for code, _ in settings.LANGUAGES}


def iso_date(value: str) -> str:
    if not value:
        raise CellError("a date is required (YYYY-MM-DD)")
    if _DATE.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise CellError(f"'{value}' is not a valid calendar date") from None
        return value
    raise CellError(f"'{value}' is not a date in the form YYYY-MM-DD")


def amount(value: str) -> str:
    if not value:
        raise CellError("an amount is required, e.g. 1234.50")
    if not _AMOUNT.fullmatch(value):
        if _AMOUNT_TOO_LARGE.fullmatch(value):
            raise CellError(f"'{value}' is too large: at most 12 digits before the dot")
        raise CellError(
            f"'{value}' is not an amount: use digits with a dot and at most 2 decimals, e.g. -12.50"
        )
    return value


def non_negative_amount(value: str) -> str:
    cleaned = amount(value)
    if Decimal(cleaned) < 0:  # by value: "-0.00" is zero, as the revenue importer takes it
        raise CellError(f"'{value}' must not be negative")
    return cleaned.removeprefix("-")


def text(value: str, max_length: int, *, required: bool = False) -> str:
    if required and not value:
        raise CellError("a value is required")
    if len(value) > max_length:
        raise CellError(f"at most {max_length} characters (found {len(value)})")
    return value


def email(value: str, max_length: int) -> str:
    """`max_length` is the model field's: validate_email alone lets through 320 characters."""
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise CellError(f"'{value}' is not a valid email address") from None
    if len(value) > max_length:
        raise CellError(f"an email address has at most {max_length} characters (found {len(value)})")
    return value


def language(value: str) -> str:
    if value and value not in _LANGUAGES:
        raise CellError(f"'{value}' is not a supported language; use one of {', '.join(sorted(_LANGUAGES))}")
    return value


def choice(value: str, choices: dict[str, str], what: str) -> str:
    if value not in choices:
        raise CellError(f"unknown {what} '{value}'; use one of {', '.join(choices)}")
    return value
