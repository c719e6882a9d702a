"""Parsers of the REST API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

import codecs
import math
from decimal import Decimal, InvalidOperation

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# A number's digits are written out up to this exponent; past it (1e-999999999, a dozen bytes of
# JSON, would be a gigabyte of text) they keep it: "1E-999999999", a value no field takes.
WRITTEN_OUT_EXPONENT = 100


class JSONNumber(float):
    """A JSON number with a fraction or an exponent: a float, as DRF's fields take one (a CharField
    refuses a Decimal, an IntegerField reads "1E+1" as no integer), whose text is the digits sent.

    As a plain float 10.0000000000000001 became "10.0": an amount with more decimals than the ledger
    holds was stored rounded (the bulk endpoint's cells, a DecimalField) where the same text in a
    string is refused. str() writes the digits out as a person writes them: 1e3 is "1000".
    """

    __slots__ = ("digits",)

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        # Python reads 1e400 as inf, and int(inf) deep in a field (a related id) raised OverflowError.
        if not math.isfinite(number):
            raise ValueError(f"number out of range: {text}")
        try:
            number.digits = Decimal(text)
        except InvalidOperation:  # 1e-9999999999999999999: 0.0 to float, past any Decimal's exponent
            raise ValueError(f"number out of range: {text}") from None
        return number

    def __str__(self) -> str:
        if abs(self.digits.as_tuple().exponent) > WRITTEN_OUT_EXPONENT:
            return str(self.digits)
        return format(self.digits, "f")

    def __reduce__(self):  # a copy keeps the digits
        return (type(self), (str(self.digits),))


class JSONParser(parsers.JSONParser):
    """DRF's, answering 400 to JSON nested too deeply for Python's parser and to numbers too large
    for a float, and keeping the digits of a number with a fraction or an exponent (JSONNumber).

    `[[[…]]]` a hundred thousand deep raises RecursionError, which DRF (catching only ValueError)
    let through as a 500 on every JSON endpoint.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            strict = json.strict_constant if self.strict else None
            return json.load(decoded, parse_constant=strict, parse_float=JSONNumber)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
