"""Parsers of the REST API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

import codecs
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


def _finite_float(text: str) -> float:
    # Python reads 1e400 as inf, and int(inf) deep in a field (a related id) raised OverflowError.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text}")
    return number


class JSONParser(parsers.JSONParser):
    """DRF's, answering 400 to JSON nested too deeply for Python's parser and to numbers too large
    for a float.

    `[[[…]]]` a hundred thousand deep raises RecursionError, which DRF (catching only ValueError)
    let through as a 500 on every JSON endpoint.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            decoded = codecs.getreader(encoding)(stream)
            strict = json.strict_constant if self.strict else None
            return json.load(decoded, parse_constant=strict, parse_float=_finite_float)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
