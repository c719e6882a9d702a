"""Staff web UI of the accounting app: customers, their ledger and reason, and imports.

Views are thin: parse the request, call one selector or service, render or redirect.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .forms import CustomerFilterForm, CustomerReasonForm, ImportUploadForm
from .imports import import_file
from .models import ImportStatus

CUSTOMERS_PER_PAGE = 50
IMPORTS_PER_PAGE = 50
ERRORS_PER_PAGE = 100

require_GET_or_HEAD = require_http_methods(["GET", "HEAD"])


def requires(perm: str):
    """Staff-only view: anonymous users go to the login page, users without `perm` get a 403."""

    def decorator(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorator


def _page(request, items, per_page: int):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


# --- Customers ------------------------------------------------------------------------------------


@require_GET_or_HEAD
@requires("accounting.view_customer")
def customer_list(request):
    form = CustomerFilterForm(request.GET, segments=selectors.customer_segments())
    filters = form.filters()
    page = _page(request, selectors.customer_list(**filters), CUSTOMERS_PER_PAGE)
    # An empty list without a filter means nothing was imported yet: the page says so, not "no match".
    context = {"form": form, "page_obj": page, "filtered": any(filters.values())}
    return render(request, "accounting/customer_list.html", context)


def _customer_page(request, customer, *, reason_form=None, status=200):
    children = selectors.customer_children(customer)
    reason_requests = selectors.customer_reason_requests(customer)
    context = {
        "customer": customer,
        "children": children,
        "referrals": selectors.customer_referrals(customer),
        "ledger": selectors.customer_ledger_by_year(customer),
        # What the reports count for an entity: all its members' lines (one more query, entities only).
        "entity_ledger": (
            selectors.entity_ledger_by_year(customer)
            if selectors.customer_is_entity_with_members(customer, children)
            else None
        ),
        "recent_revenue": selectors.customer_recent_revenue(customer),
        "reason_requests": reason_requests,
        "reason_status": selectors.reason_request_status(reason_requests[0] if reason_requests else None),
        "related_limit": selectors.RELATED_LIMIT,
        "reason_form": reason_form
        or CustomerReasonForm(
            initial={"reason": customer.reason_id, "reason_text": customer.reason_text},
            current_reason_id=customer.reason_id,
        ),
    }
    return render(request, "accounting/customer_detail.html", context, status=status)


@require_GET_or_HEAD
@requires("accounting.view_customer")
def customer_detail(request, pk: int):
    return _customer_page(request, selectors.customer_get(pk))


@require_POST
@requires("accounting.change_customer")
def customer_reason(request, pk: int):
    customer = selectors.customer_get(pk)
    form = CustomerReasonForm(request.POST, current_reason_id=customer.reason_id)
    if form.is_valid():
        try:
            services.customer_set_reason(
                customer=customer,
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["reason_text"],
                source="staff",
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Acquisition reason saved: {customer.reason}.")
            return redirect("accounting:customer-detail", pk=customer.pk)
    messages.error(request, "The acquisition reason was not saved; see the form below.")
    return _customer_page(request, customer, reason_form=form, status=400)


@require_POST
@requires("accounting.add_reasonrequest")
def customer_reason_request(request, pk: int):
    customer = selectors.customer_get(pk)
    try:
        services.reason_request_ask(customer=customer, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The “why did you choose us?” link is on its way to {customer.email}.")
    return redirect("accounting:customer-detail", pk=customer.pk)


# --- Imports --------------------------------------------------------------------------------------


def _import_list_page(request, form, *, status=200):
    context = {
        "form": form,
        "expected_headers": ImportUploadForm.expected_headers(),
        "page_obj": _page(request, selectors.import_list(), IMPORTS_PER_PAGE),
    }
    return render(request, "accounting/import_list.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@requires("accounting.view_importbatch")
def import_list(request):
    if request.method == "POST":
        return _import_upload(request)
    return _import_list_page(request, ImportUploadForm(user=request.user))


@requires("accounting.add_importbatch")
def _import_upload(request):
    form = ImportUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _import_list_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    batch = import_file(
        kind=form.cleaned_data["kind"],
        file=upload,
        filename=upload.name,
        source="ui",
        user=request.user,
    )
    _report_import(request, batch)
    return redirect("accounting:import-detail", pk=batch.pk)


def _report_import(request, batch) -> None:
    if batch.status == ImportStatus.SUCCEEDED:
        messages.success(
            request,
            f"Imported {batch.filename}: {batch.rows_created} created, "
            f"{batch.rows_updated} updated, {batch.rows_skipped} skipped.",
        )
    elif batch.status == ImportStatus.REJECTED:
        messages.error(
            request,
            f"{batch.filename} was rejected and nothing was imported: {batch.error_count} error(s), listed below.",
        )
    else:
        messages.error(request, f"The import of {batch.filename} did not finish: {batch.message}")


@require_GET_or_HEAD
@requires("accounting.view_importbatch")
def import_detail(request, pk: int):
    batch = selectors.import_get(pk)
    errors = _page(request, selectors.import_errors(batch), ERRORS_PER_PAGE)
    duration = batch.duration.total_seconds() if batch.duration is not None else None
    context = {"batch": batch, "duration_seconds": duration, "page_obj": errors}
    return render(request, "accounting/import_detail.html", context)
