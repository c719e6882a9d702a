"""Parsers of the REST API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's, answering 400 to JSON nested too deeply for Python's parser.

    `[[[…]]]` a hundred thousand deep raises RecursionError, which DRF (catching only ValueError)
    let through as a 500 on every JSON endpoint.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
