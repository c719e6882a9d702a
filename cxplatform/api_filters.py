"""Filter backends of the REST API (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"])."""

from rest_framework import filters, serializers


class SearchFilter(filters.SearchFilter):
    """DRF's search, with its 400 keyed by the parameter like every other bad parameter.

    DRF answers `?search=` holding a NUL character with a bare list of messages; the schema (and
    clients) expect an object of messages by parameter name.
    """

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({self.search_param: exc.detail}) from exc
