"""CSV headers of SPEC §7, shared by the commands, the UI upload and the API bulk endpoints."""

CUSTOMER_COLUMNS = (
    "external_id", "name", "email", "acquired_on", "reason", "reason_text",
    "referred_by", "parent", "segment", "acquisition_cost", "language",
)
REVENUE_COLUMNS = ("customer", "date", "amount", "external_ref", "product")
COST_COLUMNS = ("customer", "date", "amount", "external_ref", "kind", "description")

COLUMNS = {"customers": CUSTOMER_COLUMNS, "revenue": REVENUE_COLUMNS, "costs": COST_COLUMNS}
