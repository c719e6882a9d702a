"""Renderers of the REST API (REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"])."""

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's, offering the raw-data form only: no HTML form built from the serializer.

    DRF's HTML form templates (rest_framework/horizontal/) write each <label> without `for` and each
    control without an id, so no field had a name a screen reader could announce (axe: label,
    select-name). The raw-data form is a Django form with labelled fields, and sends the same JSON.
    It also spares drawing every customer as an <option> of each related field.
    """

    def render_form_for_serializer(self, serializer):
        return None
