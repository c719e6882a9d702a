"""Every write of a value /api/customers/ shows moves the customer's updated_at, so that a pull by
`changed_after` lists the row again (tests/api/test_customer_invitation_change_cursors.py).

`auto_now` covers save() only: a QuerySet.update(), bulk_update() or SQL statement names the
column itself. Each test ages every customer, runs one write path, and pulls what changed since.
A value shown on other rows (an id shown as their parent, referrer or entity; a category's kind
shown as their reason_class) moves those rows too.
"""

import datetime as dt
import io
from io import StringIO

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounting.erasure import customer_erase
from accounting.imports import import_file
from accounting.models import Customer
from accounting.services import customer_set_reason, reason_request_create
from surveys import sending
from surveys.models import Invitation, InvitationState
from tests.factories import CustomerFactory, InvitationFactory, reason
from tests.form_data import admin_change_data

pytestmark = pytest.mark.django_db

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SINCE_OLD = f"2020-01-01T00:00:00Z,{2**63 - 1}"  # every row changed after OLD
HEADER = "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,acquisition_cost,language"


def age_everything():
    Customer.objects.update(updated_at=OLD)
    Invitation.objects.update(updated_at=OLD)


def pulled(api, endpoint="customer") -> set[str]:
    """What a pull from before the write lists: customers by external id, invitations by id."""
    rows, cursor = [], SINCE_OLD
    while True:
        response = api.get(reverse(f"api-{endpoint}-list"), {"changed_after": cursor})
        assert response.status_code == 200, response.content
        page = response.json()["results"]
        if not page:
            break
        rows += page
        cursor = f"{page[-1]['updated_at']},{page[-1]['id']}"
    return {row["external_id"] if endpoint == "customer" else row["id"] for row in rows}


def moved(*customers) -> bool:
    return all(Customer.objects.get(pk=c.pk).updated_at > OLD for c in customers)


@pytest.fixture
def api(api_client_as):
    return api_client_as("analyst")


@pytest.fixture
def doors(tmp_path, client_as, api_client_as):
    """What the doors of a write take: a directory for files, a staff page client, an API client."""
    return {"tmp_path": tmp_path, "client_as": client_as, "api_client_as": api_client_as}


# --- Imports -------------------------------------------------------------------------------------


def _import_by_command(row, doors):
    path = doors["tmp_path"] / "customers.csv"
    path.write_text(f"{HEADER}\n{row}\n")
    call_command("import_customers", str(path), stdout=StringIO(), stderr=StringIO())


def _import_by_page(row, doors):
    upload = SimpleUploadedFile("customers.csv", f"{HEADER}\n{row}\n".encode(), content_type="text/csv")
    client = doors["client_as"]("analyst")
    response = client.post(reverse("accounting:import-list"), {"kind": "customers", "file": upload})
    assert response.status_code == 302


def _import_by_api(row, doors):
    """The bulk endpoint: the same engine, PostgreSQL's upsert of known rows included."""
    cells = dict(zip(HEADER.split(","), row.split(","), strict=True))
    record = {column: value for column, value in cells.items() if value}
    response = doors["api_client_as"]("analyst").post(reverse("api-customer-bulk"), [record], format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("door", [_import_by_command, _import_by_page, _import_by_api])
@pytest.mark.parametrize(
    ("row", "changed"),
    [
        ("C,,,,,,,P,,,", {"C"}),  # a parent only: written by bulk_update, then the entity refresh
        ("C,,,,,,P,,,,", {"C"}),  # a referrer only: written by bulk_update alone
        ("C,Carla,,,,,,,,,", {"C"}),  # a value of its own row
        ("N,New,,,,,,P,,,", {"N"}),  # a new customer under P
    ],
)
def test_an_import_moves_the_rows_it_changes(api, doors, door, row, changed):
    CustomerFactory(external_id="P")
    CustomerFactory(external_id="C", name="Cleo")
    age_everything()

    door(row, doors)

    assert pulled(api) == changed


def test_an_import_that_changes_nothing_moves_nothing(api):
    CustomerFactory(external_id="P")
    CustomerFactory(external_id="C", name="Cleo", parent=Customer.objects.get(external_id="P"))
    age_everything()

    batch = import_file(kind="customers", file=io.BytesIO(f"{HEADER}\nC,Cleo,,,,,,P,,,\n".encode()), source="command")

    assert batch.rows_updated == 0 and pulled(api) == set()


# --- The roll-up of entities ---------------------------------------------------------------------


def test_a_customer_moved_under_another_parent_moves_its_members_too(api):
    """The entity refresh (one SQL UPDATE on PostgreSQL, bulk_update on SQLite) sets each member's
    new entity: each is a changed row."""
    CustomerFactory(external_id="TOP")
    middle = CustomerFactory(external_id="MID")
    CustomerFactory(external_id="LEAF", parent=middle)
    CustomerFactory(external_id="ELSEWHERE")
    age_everything()

    reply = api.patch(reverse("api-customer-detail", args=[middle.pk]), {"parent": "TOP"}, format="json")

    assert reply.status_code == 200, reply.content
    assert pulled(api) == {"MID", "LEAF"}
    assert api.get(reverse("api-customer-list"), {"external_id": "LEAF"}).json()["results"][0]["entity"] == "TOP"


def test_the_admin_moving_a_customer_moves_its_members_too(api, client_as):
    CustomerFactory(external_id="TOP")
    middle = CustomerFactory(external_id="MID")
    CustomerFactory(external_id="LEAF", parent=middle)
    age_everything()
    client = client_as("admin")
    url = reverse("admin:accounting_customer_change", args=[middle.pk])

    response = client.post(url, admin_change_data(client, url, parent=Customer.objects.get(external_id="TOP").pk))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert pulled(api) == {"MID", "LEAF"}


# --- A new external id: shown on other rows --------------------------------------------------------


def _rename_by_api(doors, customer):
    api = doors["api_client_as"]("analyst")
    reply = api.patch(reverse("api-customer-detail", args=[customer.pk]), {"external_id": "P2"}, format="json")
    assert reply.status_code == 200, reply.content


def _rename_in_admin(doors, customer):
    client = doors["client_as"]("admin")
    url = reverse("admin:accounting_customer_change", args=[customer.pk])
    response = client.post(url, admin_change_data(client, url, external_id="P2"))
    assert response.status_code == 302, response.context["adminform"].form.errors


@pytest.mark.parametrize("door", [_rename_by_api, _rename_in_admin])
def test_a_renamed_customer_moves_the_rows_that_show_its_id(api, doors, door):
    renamed = CustomerFactory(external_id="P")
    CustomerFactory(external_id="CHILD", parent=renamed)  # shows it as parent and entity
    CustomerFactory(external_id="REFERRED", referred_by=renamed)
    CustomerFactory(external_id="OTHER")
    invitation = InvitationFactory(customer=renamed)
    InvitationFactory()
    age_everything()

    door(doors, renamed)

    assert pulled(api) == {"P2", "CHILD", "REFERRED"}
    assert pulled(api, "invitation") == {invitation.pk}


def test_an_edit_that_keeps_the_id_moves_only_its_own_row(api):
    edited = CustomerFactory(external_id="P")
    CustomerFactory(external_id="CHILD", parent=edited)
    age_everything()

    url = reverse("api-customer-detail", args=[edited.pk])
    reply = api.patch(url, {"external_id": "P", "name": "N"}, format="json")

    assert reply.status_code == 200 and pulled(api) == {"P"}


# --- A category's kind: shown as its customers' reason_class ---------------------------------------


def _kind_by_api(doors, category):
    url = reverse("api-reason-category-detail", args=[category.slug])
    reply = doors["api_client_as"]("admin").patch(url, {"kind": "bought"}, format="json")
    assert reply.status_code == 200, reply.content


def _kind_in_admin(doors, category):
    client = doors["client_as"]("admin")
    url = reverse("admin:accounting_reasoncategory_change", args=[category.pk])
    response = client.post(url, admin_change_data(client, url, kind="bought"))
    assert response.status_code == 302, response.context["adminform"].form.errors


@pytest.mark.parametrize("door", [_kind_by_api, _kind_in_admin])
def test_a_category_of_another_kind_moves_the_customers_it_classes(api, doors, door):
    category = reason("recommendation")
    assert category.kind == "earned"
    CustomerFactory(external_id="ANSWERED", reason=category)
    CustomerFactory(external_id="MAPPED", reason=reason("other"), reason_text="a friend", reason_mapped_to=category)
    CustomerFactory(external_id="MAPPED-AWAY", reason=category, reason_mapped_to=reason("advertising"))
    CustomerFactory(external_id="UNRELATED", reason=reason("advertising"))
    age_everything()

    door(doors, category)

    assert pulled(api) == {"ANSWERED", "MAPPED"}
    rows = api.get(reverse("api-customer-list")).json()["results"]
    classes = {row["external_id"]: row["reason_class"] for row in rows}
    assert (classes["ANSWERED"], classes["MAPPED"]) == ("bought", "bought")


def test_a_category_edit_that_keeps_its_kind_moves_no_customer(api, api_client_as):
    category = reason("recommendation")
    CustomerFactory(external_id="ANSWERED", reason=category)
    age_everything()

    url = reverse("api-reason-category-detail", args=[category.slug])
    reply = api_client_as("admin").patch(url, {"label": "Word of mouth"}, format="json")

    assert reply.status_code == 200 and pulled(api) == set()


# --- Acquisition reasons, opt-out, erasure, edits -----------------------------------------------------


def test_an_answer_on_the_public_reason_page_moves_the_row(api, client):
    customer = CustomerFactory(external_id="C", language="en")
    token = reason_request_create(customer=customer).token
    age_everything()

    response = client.post(reverse("reason-answer", args=[token]), {"reason": reason("recommendation").pk})

    assert response.status_code == 303 and pulled(api) == {"C"}


def test_an_answer_through_the_staff_reason_form_moves_the_row(api, client_as):
    customer = CustomerFactory(external_id="C")
    age_everything()

    client_as("analyst").post(reverse("accounting:customer-reason", args=[customer.pk]),
                              {"reason": reason("recommendation").pk, "reason_text": ""})

    assert pulled(api) == {"C"}


def test_an_answer_through_the_api_moves_the_row(api):
    customer = CustomerFactory(external_id="C")
    age_everything()

    reply = api.post(reverse("api-customer-reason", args=[customer.pk]), {"reason": "advertising"}, format="json")

    assert reply.status_code == 200 and pulled(api) == {"C"}


def test_an_admins_mapping_of_an_other_answer_moves_the_row(api, client_as):
    from accounting.services import other_answer_fingerprint

    customer = CustomerFactory(external_id="C")
    customer_set_reason(customer=customer, reason=reason("other"), text="a podcast", source="api")
    age_everything()
    category = reason("advertising")

    response = client_as("admin").post(reverse("admin:accounting_otherreasonanswer_changelist"), {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(customer.pk), "form-0-reason_mapped_to": str(category.pk),
        "form-0-answer_seen": other_answer_fingerprint("a podcast"), "_save": "Save",
    })

    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).reason_mapped_to == category
    assert pulled(api) == {"C"}


def test_an_unsubscribe_moves_the_row(api, client, fresh_rate_limits):
    invitation = InvitationFactory(customer=CustomerFactory(external_id="C"))
    age_everything()

    assert client.post(reverse("survey-unsubscribe", args=[invitation.token])).status_code == 200

    assert pulled(api) == {"C"}


def test_an_erasure_moves_the_row(api, admin):
    customer = CustomerFactory(external_id="C")
    age_everything()

    customer_erase(customer=customer, by=admin)

    assert pulled(api) == {"C"}


def test_an_edit_in_the_admin_moves_the_row(api, client_as):
    customer = CustomerFactory(external_id="C", segment="SMB")
    age_everything()
    client = client_as("admin")
    url = reverse("admin:accounting_customer_change", args=[customer.pk])

    response = client.post(url, admin_change_data(client, url, segment="Enterprise"))

    assert response.status_code == 302 and pulled(api) == {"C"}


def test_the_demo_lists_each_of_its_customers(api, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    CustomerFactory(external_id="REAL")
    age_everything()

    call_command("demo", customers=40, seed=1, until="2026-06", force=True, stdout=StringIO())

    demo = set(Customer.objects.filter(external_id__startswith="DEMO-").values_list("external_id", flat=True))
    assert demo and pulled(api) == demo


# --- Writes that change nothing the customers API shows -------------------------------------------


def test_ledger_imports_bounces_and_sends_move_no_customer(api, settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    customer = CustomerFactory(external_id="C")
    queued = InvitationFactory(customer=customer, state=InvitationState.QUEUED, sent_at=None, expires_at=None)
    age_everything()

    revenue = "customer,date,amount,external_ref,product\nC,2025-03-01,10.00,R-1,Plan\n"
    assert import_file(kind="revenue", file=io.BytesIO(revenue.encode()), source="command").status == "succeeded"
    assert sending.send_batch().sent == 1
    event = AnymailTrackingEvent(
        event_type="bounced", timestamp=timezone.now(), message_id="x", recipient=customer.email,
        metadata={"invitation_id": str(queued.pk)}, description="550 5.1.1 unknown",
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")

    assert pulled(api) == set()
    assert pulled(api, "invitation") == {queued.pk}
