"""Serializer behaviour shared by the REST API's writes."""

from collections.abc import Mapping

from rest_framework import serializers

# Not fields: Django's CSRF token travels in the body of a session's form (the browsable API's).
FORM_KEYS = frozenset({"csrfmiddlewaretoken"})


class WritableFieldsOnlyMixin:
    """Refuse every key the serializer would not store, naming each: 400 with
    `{key: ["Unknown field."]}` or `{key: ["Read-only field."]}`.

    DRF drops both silently: a typo (`acquisiton_cost`) lost its value behind a 201, and a read-only
    field sent looked accepted. The bulk endpoints refuse unknown columns the same way.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):  # anything else gets DRF's own "expected a dictionary"
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {
                key: ["Read-only field." if key in self.fields else "Unknown field."]
                for key in data
                if key not in writable and key not in FORM_KEYS
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
