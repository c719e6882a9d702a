"""CSV headers of SPEC §7, shared by the commands, the UI upload and the API bulk endpoints."""

CUSTOMER_COLUMNS = (
    "external_id", "name", "email", "acquired_on", "reason", "reason_text",
    "referred_by", "parent", "segment", "acquisition_cost", "language",
)
REVENUE_COLUMNS = ("customer", "date", "amount", "external_ref", "product")
COST_COLUMNS = ("customer", "date", "amount", "external_ref", "kind", "description")
# Historical answers from another tool (surveys.importing): the command and the UI upload only.
RESPONSE_COLUMNS = ("customer", "survey", "score", "answered_at", "comment", "touchpoint")

COLUMNS = {
    "customers": CUSTOMER_COLUMNS, "revenue": REVENUE_COLUMNS, "costs": COST_COLUMNS,
    "responses": RESPONSE_COLUMNS,
}
