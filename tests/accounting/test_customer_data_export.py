"""Exporting everything the platform holds about one customer (accounting.data_export; README,
"Exporting a customer's data"): every section, in a fixed number of queries, never an anonymous
survey's answer, from the command and the admin's action, the admin role's only, audited."""

import datetime as dt
import io
import json

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounting.data_export import EXPORT_MARK, EXPORT_NOTE, customer_data_export
from accounting.erasure import customer_erase
from accounting.models import Customer, ReasonRequest
from accounting.services import customer_set_reason
from surveys.models import InvitationState, SuppressedAddress
from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    SurveyFactory,
    pay,
    reason,
)

pytestmark = pytest.mark.django_db

EMAIL = "ynes.b@private.example.org"
SECRET = "only the anonymous survey heard this"


def _history(customer, *, lines: int):
    """`lines` of each kind of row: revenue, costs, reason links, named and anonymous answers."""
    for n in range(lines):
        pay(customer, f"2025-0{n % 9 + 1}-01", f"{100 + n}.50")
        CostEntryFactory(customer=customer, amount="12.34", kind="serve", description="Support hours")
        ReasonRequest.objects.create(
            customer=customer, token_hash=f"{customer.pk:08d}{n:056d}", expires_at=timezone.now() + dt.timedelta(days=5)
        )
        CustomerFactory(referred_by=customer)
        named = ResponseFactory(invitation__customer=customer, score=9, reason="first words", touchpoint="support")
        named.reason = "fast support"
        named.save()  # an edit: a second history row
        ResponseFactory(invitation__customer=customer, invitation__survey=SurveyFactory(anonymous=True), reason=SECRET)


@pytest.fixture
def ynes():
    """A customer with a parent and a referrer, a reason in her words, two ledger lines, a reason
    link, a referral, an answered named survey (edited once), an answered anonymous survey, a
    suppressed invitation and a bounce on the suppression list."""
    parent = CustomerFactory(external_id="P-1")
    referrer = CustomerFactory(external_id="R-1")
    customer = CustomerFactory(
        external_id="Y-1",
        name="Ynès Braun",
        email=EMAIL,
        language="de",
        segment="SMB",
        acquired_on=dt.date(2024, 2, 1),
        parent=parent,
        referred_by=referrer,
    )
    customer_set_reason(customer=customer, reason=reason("other"), text="a podcast", source="staff")
    CustomerFactory(external_id="F-1", referred_by=customer)
    pay(customer, "2024-03-01", "100.10")
    CostEntryFactory(
        customer=customer,
        date=dt.date(2024, 3, 2),
        amount="7.50",
        kind="acquisition",
        description="Fair booth",
        external_ref="COST-1",
    )
    ReasonRequest.objects.create(
        customer=customer, token_hash="b" * 64, expires_at=timezone.now() + dt.timedelta(days=5)
    )
    named = ResponseFactory(
        invitation__customer=customer,
        invitation__survey=SurveyFactory(name="Relationship 2025"),
        invitation__reference="ORDER-9",
        score=9,
        reason="first words",
        touchpoint="support",
    )
    named.reason, named.suggestion, named.score = "fast support", "open on Sundays", 10
    named.save()
    ResponseFactory(
        invitation__customer=customer,
        invitation__survey=SurveyFactory(name="Secret ballot", anonymous=True),
        invitation__touchpoint="onboarding",
        score=3,
        reason=SECRET,
    )
    InvitationFactory(
        customer=customer,
        state=InvitationState.SUPPRESSED,
        suppression_reason="throttled",
        sent_at=None,
        expires_at=None,
    )
    SuppressedAddress.objects.create(email=EMAIL.upper(), kind="bounced", detail="mailbox full")
    return Customer.objects.get(pk=customer.pk)


def test_every_section_holds_the_customers_data(ynes, settings):
    settings.REPORTING_CURRENCY = "CHF"

    data = json.loads(json.dumps(customer_data_export(customer=ynes)))  # JSON as it is

    customer = data["customer"]
    assert (customer["external_id"], customer["name"], customer["email"]) == ("Y-1", "Ynès Braun", EMAIL)
    assert (customer["language"], customer["segment"], customer["acquired_on"]) == ("de", "SMB", "2024-02-01")
    assert customer["acquisition_reason"] | {"answered_at": None} == {
        "category": "Other",
        "mapped_to": None,
        "kind": "unknown",
        "reason_text": "a podcast",
        "source": "staff",
        "answered_at": None,
    }
    assert (customer["referred_by"], customer["parent"], customer["survey_opt_out"]) == ("R-1", "P-1", False)
    assert customer["erased_at"] is None
    assert dt.datetime.fromisoformat(customer["created_at"]).utcoffset() is not None  # with its offset
    assert data["referrals"] == ["F-1"]
    assert [(line["date"], line["amount"], line["currency"]) for line in data["revenue"]] == [
        ("2024-03-01", "100.10", "CHF")
    ]
    assert data["costs"] == [
        {
            "date": "2024-03-02",
            "amount": "7.50",
            "currency": "CHF",
            "external_ref": "COST-1",
            "kind": "acquisition",
            "description": "Fair booth",
        }
    ]
    [request] = data["reason_requests"]
    assert request["answered"] is False and "token" not in json.dumps(request)
    named = next(i for i in data["invitations"] if i["survey"] == "Relationship 2025")
    assert (named["state"], named["reference"], named["email"]) == ("responded", "ORDER-9", EMAIL)
    assert named["responded_at"] is None or dt.datetime.fromisoformat(named["responded_at"])
    suppressed = next(i for i in data["invitations"] if i["state"] == "suppressed")
    assert suppressed["suppression_reason"] == "throttled"
    [response] = data["responses"]
    assert (response["survey"], response["score"], response["category"]) == ("Relationship 2025", 10, "promoter")
    assert (response["reason"], response["suggestion"], response["touchpoint"]) == (
        "fast support",
        "open on Sundays",
        "support",
    )
    assert [(row["change"], row["score"], row["reason"]) for row in response["history"]] == [
        ("created", 9, "first words"),
        ("changed", 10, "fast support"),
    ]
    assert data["suppressed_addresses"] == [
        {"email": EMAIL, "kind": "bounced", "suppressed_at": data["suppressed_addresses"][0]["suppressed_at"]}
    ]


def test_anonymous_answers_are_left_out_and_the_export_says_so(ynes):
    data = customer_data_export(customer=ynes)

    text = json.dumps(data)
    assert SECRET not in text and "Secret ballot" not in [r["survey"] for r in data["responses"]]
    [anonymous] = [i for i in data["invitations"] if i["survey"] == "Secret ballot"]
    # As staff see it anywhere else: answered reads "delivered", without the answer's date.
    assert (anonymous["state"], anonymous["responded_at"], anonymous["reminder_sent_at"]) == ("delivered", None, None)
    assert anonymous["survey_anonymous"] is True and anonymous["touchpoint"] == "onboarding"
    assert data["note"] == EXPORT_NOTE and "anonymous" in data["note"]


def test_an_erased_customer_exports_blanks_and_when(ynes, admin):
    customer_erase(customer=ynes, by=admin)

    data = customer_data_export(customer=ynes)

    customer = data["customer"]
    assert (customer["name"], customer["email"], customer["acquisition_reason"]["reason_text"]) == ("", "", "")
    assert customer["erased_at"] is not None and customer["survey_opt_out"] is True
    assert data["responses"][0]["reason"] == "" and all(row["reason"] == "" for row in data["responses"][0]["history"])
    assert data["suppressed_addresses"] == [] and all(i["email"] == "" for i in data["invitations"])


def test_the_number_of_queries_does_not_grow_with_the_history(django_assert_num_queries):
    small, large = CustomerFactory(email="small@example.org"), CustomerFactory(email="large@example.org")
    _history(small, lines=1)
    _history(large, lines=6)
    SuppressedAddress.objects.create(email="small@example.org", kind="bounced")
    SuppressedAddress.objects.create(email="large@example.org", kind="bounced")

    # The customer, referrals, revenue, costs, reason links, invitations, answers, their history,
    # the internationalised suppressions and the suppression rows: ten, whatever the history.
    with django_assert_num_queries(10):
        few = customer_data_export(customer=small)
    with django_assert_num_queries(10):
        many = customer_data_export(customer=large)

    assert (len(few["revenue"]), len(many["revenue"])) == (1, 6)
    assert (len(few["responses"]), len(many["responses"]), len(many["invitations"])) == (1, 6, 12)
    assert all(len(response["history"]) == 2 for response in many["responses"])


def test_the_command_prints_json_and_records_the_export(ynes, tmp_path, admin):
    out = io.StringIO()

    call_command("export_customer", "Y-1", stdout=out)

    assert json.loads(out.getvalue())["customer"]["name"] == "Ynès Braun"
    path = tmp_path / "y.json"
    call_command("export_customer", "Y-1", "--output", str(path), "--by", admin.username, stdout=io.StringIO())
    text = path.read_text(encoding="utf-8")
    assert "Ynès" in text and text.startswith('{\n  "note"')  # UTF-8 as it is, indented by 2
    assert json.loads(text)["customer"]["external_id"] == "Y-1"
    entries = LogEntry.objects.filter(additional_data=EXPORT_MARK, object_pk=str(ynes.pk))
    assert [entry.actor for entry in entries.order_by("pk")] == [None, admin]


def test_the_command_names_an_unknown_id():
    with pytest.raises(CommandError, match="Unknown customer external id: NOPE"):
        call_command("export_customer", "NOPE", stdout=io.StringIO())

    assert not LogEntry.objects.filter(additional_data=EXPORT_MARK).exists()


def _action(client, *customers):
    url = reverse("admin:accounting_customer_changelist")
    return client.post(url, {"action": "export_personal_data", "_selected_action": [c.pk for c in customers]})


def test_the_admin_action_downloads_the_json_and_logs_who(ynes, admin, client):
    client.force_login(admin)

    response = _action(client, ynes)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="customer-Y-1.json"'
    data = json.loads(response.content.decode("utf-8"))
    assert data["customer"]["email"] == EMAIL and SECRET not in response.content.decode("utf-8")
    entry = LogEntry.objects.get(additional_data=EXPORT_MARK)
    assert (entry.actor, entry.object_pk, entry.action) == (admin, str(ynes.pk), LogEntry.Action.ACCESS)
    assert EMAIL not in json.dumps([entry.changes, entry.changes_text, entry.serialized_data])  # none of the data


def test_the_admin_action_exports_one_customer_at_a_time(ynes, admin, client):
    client.force_login(admin)

    response = _action(client, ynes, CustomerFactory())

    assert response.status_code == 302
    messages = [m.message for m in client.get(response["Location"]).context["messages"]]
    assert "Select one customer to export their personal data." in messages
    assert not LogEntry.objects.filter(additional_data=EXPORT_MARK).exists()


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_only_the_admin_role_may_export(ynes, client, user_with_role, role):
    user = user_with_role(role)
    user.is_staff = True  # even let into the Django admin, the action is not theirs
    user.save(update_fields=["is_staff"])
    client.force_login(user)

    changelist = client.get(reverse("admin:accounting_customer_changelist"))
    response = _action(client, ynes)

    if role == "analyst":  # the customers are theirs to view, not to export
        action_form = changelist.context["action_form"]
        assert action_form is None or "export_personal_data" not in dict(action_form.fields["action"].choices)
    else:
        assert changelist.status_code == 403
    assert response.status_code in (200, 302, 403) and "Content-Disposition" not in response
    assert not user.has_perm("accounting.export_customer")
    assert not LogEntry.objects.filter(additional_data=EXPORT_MARK).exists()


def test_an_erasure_keeps_the_record_of_an_export(ynes, admin):
    call_command("export_customer", "Y-1", "--by", admin.username, stdout=io.StringIO())

    customer_erase(customer=ynes, by=admin)

    entry = LogEntry.objects.get(additional_data=EXPORT_MARK)
    assert entry.actor == admin and entry.object_repr == "Y-1 (Y-1)"
