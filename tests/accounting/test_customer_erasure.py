"""Erasing a customer's personal data on request (accounting.erasure; README, Customer-based
accounting): the person's name, address and words go, from histories and the audit log too, while
every figure reads the same and the customer can never be invited or re-imported back."""

import datetime as dt
import html
import io
import smtplib

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from auditlog.models import LogEntry
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounting.data_export import customer_data_export
from accounting.erasure import customer_erase
from accounting.imports import import_file
from accounting.models import Customer, ImportBatch, ImportRowError, ImportStatus, ReasonRequest
from accounting.services import customer_set_reason
from reports.cohorts import cohort_report
from reports.earned_growth import earned_growth
from reports.nps import nps_report
from reports.periods import parse_period
from surveys import sending
from surveys.launch import survey_launch
from surveys.models import Invitation, InvitationState, Response, SuppressedAddress, SuppressionReason
from surveys.responses import ResponseClosed, invitation_find, response_submit
from surveys.selectors import invitation_state_shown
from surveys.sending import _claim, _claim_reminder
from tests.concurrency import while_first_is_held
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, pay, queued_to, reason

pytestmark = pytest.mark.django_db

NAME, EMAIL = "Zelda Quintessa", "zelda.q@private.example.org"
WORDS = ("my cousin Yorick recommended you", "call me on 0171 5551234", "Spoke to Zelda about her outage")
HEADER = "external_id,name,email,acquired_on,reason,reason_text,referred_by,parent,segment,acquisition_cost,language"


@pytest.fixture
def zelda(admin):
    """A customer with a reason in her words, ledger lines, an answered invitation (edited once:
    two history rows), a bounce, an audited admin edit and an open reason link."""
    customer = CustomerFactory(external_id="Z-1", name="Zed", email=EMAIL, acquired_on=dt.date(2024, 2, 1))
    customer.name = NAME
    customer.save()  # an audit entry holding the old and new name
    customer_set_reason(customer=customer, reason=reason("other"), text=WORDS[0], source="staff")
    pay(customer, "2024-03-01", "100.00")
    pay(customer, "2025-03-01", "150.00")
    other = CustomerFactory(external_id="O-1", acquired_on=dt.date(2024, 2, 1))
    pay(other, "2025-03-01", "80.00")
    ResponseFactory(customer=other, invitation__customer=other, score=4, answered_at=timezone.now())
    response = ResponseFactory(
        invitation__customer=customer,
        score=9,
        reason="first words",
        touchpoint="support",
        answered_at=timezone.now(),
    )
    response.reason, response.suggestion, response.follow_up_note = WORDS[0], WORDS[1], WORDS[2]
    response.save()
    Invitation.objects.filter(pk=response.invitation_id).update(last_error=f"550 {EMAIL} rejected")
    SuppressedAddress.objects.create(email=EMAIL, kind="bounced", detail=f"bounce of {EMAIL}")
    ReasonRequest.objects.create(
        customer=customer, token_hash="a" * 64, expires_at=timezone.now() + dt.timedelta(days=5)
    )
    batch = ImportBatch.objects.create(kind="customers", source="ui")
    ImportRowError.objects.create(batch=batch, row=2, column="email", message=f"'{EMAIL}x' is not valid")
    ImportRowError.objects.create(batch=batch, row=3, column="segment", message="too long")
    return customer


def figures():
    year = parse_period("2025")
    return (
        nps_report(period=year),
        earned_growth(period=year),
        earned_growth(period=year, grain="customer"),
        cohort_report(as_of=dt.date(2025, 12, 31)),
    )


def text_columns_holding(*values) -> list[str]:
    """Every text column of the history and audit tables that still holds one of the values."""
    found = []
    tables = [
        Response.history.model._meta.db_table,
        LogEntry._meta.db_table,
        AdminLogEntry._meta.db_table,
        Customer._meta.db_table,
        Invitation._meta.db_table,
        Response._meta.db_table,
        SuppressedAddress._meta.db_table,
        ImportRowError._meta.db_table,
        ImportBatch._meta.db_table,
    ]
    with connection.cursor() as cursor:
        for table in tables:
            columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            for column in columns:
                cursor.execute(f'SELECT "{column}" FROM "{table}"')  # noqa: S608 - names from the schema
                for (cell,) in cursor.fetchall():
                    text = str(cell).lower() if cell is not None else ""
                    found += [f"{table}.{column}" for value in values if value.lower() in text]
    return found


def test_it_blanks_every_personal_field_and_keeps_every_figure(zelda, admin):
    before = figures()
    assert text_columns_holding(NAME, EMAIL, *WORDS)  # the probe finds them before

    erasure = customer_erase(customer=zelda, by=admin)

    assert figures() == before
    customer = Customer.objects.get(pk=zelda.pk)
    assert (customer.name, customer.email, customer.reason_text) == ("", "", "")
    assert customer.survey_opt_out and customer.erased_at is not None and not erasure.already_erased
    assert (customer.external_id, customer.segment, customer.acquired_on, customer.reason) == (
        "Z-1",
        "SMB",
        dt.date(2024, 2, 1),
        reason("other"),
    )
    response = Response.objects.get(customer=customer)
    assert (response.reason, response.suggestion, response.follow_up_note) == ("", "", "")
    assert (response.score, response.category, response.touchpoint) == (9, "promoter", "support")
    invitation = response.invitation
    assert (invitation.email, invitation.last_error, invitation.state) == ("", "", InvitationState.RESPONDED)
    assert not SuppressedAddress.objects.exists()
    assert ReasonRequest.objects.get().is_expired
    assert text_columns_holding(NAME, EMAIL, "Zed", *WORDS) == []
    assert ImportRowError.objects.filter(message="too long").exists()  # others' messages stay


def test_one_audit_entry_says_who_erased_when_and_none_of_the_data(zelda, admin):
    customer_erase(customer=zelda, by=admin)

    entry = LogEntry.objects.get(additional_data__erasure="personal data erased")
    assert entry.actor == admin and entry.object_pk == str(zelda.pk)
    assert entry.changes["name"] == ["********", ""]
    # The earlier entries stay (who changed which field when), their personal values masked.
    renamed = LogEntry.objects.get_for_object(zelda).filter(changes__has_key="name").exclude(pk=entry.pk)
    assert renamed.exists()
    assert all(e.object_repr == "Z-1 (Z-1)" for e in renamed)


def test_a_second_run_changes_nothing_and_logs_no_second_erasure(zelda, admin):
    customer_erase(customer=zelda, by=admin)
    erased_at = Customer.objects.get(pk=zelda.pk).erased_at
    entries = LogEntry.objects.count()

    again = customer_erase(customer=zelda, by=admin)

    assert again.already_erased and (again.responses, again.invitations, again.suppressions) == (0, 0, 0)
    assert Customer.objects.get(pk=zelda.pk).erased_at == erased_at
    assert LogEntry.objects.count() == entries


def test_a_suppression_another_customer_shares_stays(zelda, admin):
    CustomerFactory(external_id="TWIN", email=EMAIL.upper())

    customer_erase(customer=zelda, by=admin)

    assert SuppressedAddress.objects.filter(email=EMAIL).exists()


def test_old_links_open_nothing(zelda, admin):
    token = Response.objects.get(customer=zelda).invitation.token
    assert invitation_find(token) is not None

    customer_erase(customer=zelda, by=admin)

    assert invitation_find(token) is None


def test_the_next_launch_suppresses_the_customer_as_opted_out(zelda, admin):
    customer_erase(customer=zelda, by=admin)
    survey = SurveyFactory(throttle_days=0)

    survey_launch(survey=survey)

    invitation = Invitation.objects.get(survey=survey, customer=zelda)
    assert invitation.state == InvitationState.SUPPRESSED
    assert invitation.suppression_reason == SuppressionReason.OPTED_OUT and invitation.email == ""


def test_a_reimport_does_not_bring_the_personal_data_back(zelda, admin):
    customer_erase(customer=zelda, by=admin)
    data = io.BytesIO(
        f"{HEADER}\nZ-1,{NAME},{EMAIL},,other,{WORDS[0]},,,Enterprise,,\nN-1,New One,new@example.com,,,,,,,,\n".encode()
    )

    batch = import_file(kind="customers", file=data, source="command")

    assert batch.status == ImportStatus.SUCCEEDED, batch.message
    assert "1 row(s) name a customer whose personal data was erased" in batch.message
    customer = Customer.objects.get(pk=zelda.pk)
    assert (customer.name, customer.email, customer.reason_text, customer.segment) == ("", "", "", "Enterprise")
    assert Customer.objects.get(external_id="N-1").name == "New One"


def test_the_customer_page_and_the_api_say_erased(zelda, admin, client, api_client_as):
    customer_erase(customer=zelda, by=admin)
    client.force_login(admin)

    page = client.get(reverse("accounting:customer-detail", args=[zelda.pk]))

    day = timezone.localdate(Customer.objects.get(pk=zelda.pk).erased_at)
    assert f"Personal data erased on {day:%Y-%m-%d}" in page.content.decode()
    data = api_client_as("analyst").get(reverse("api-customer-detail", args=[zelda.pk])).json()
    assert (data["name"], data["email"], data["reason_text"]) == ("", "", "")
    assert data["erased_at"] is not None


def _action(client, customer, **extra):
    url = reverse("admin:accounting_customer_changelist")
    return client.post(url, {"action": "erase_personal_data", "_selected_action": [customer.pk], **extra})


def test_the_admin_action_asks_first_then_erases(zelda, admin, client):
    client.force_login(admin)

    asked = _action(client, zelda)

    assert asked.status_code == 200 and b"Yes, erase their personal data" in asked.content
    assert Customer.objects.get(pk=zelda.pk).erased_at is None  # the confirmation changed nothing

    done = _action(client, zelda, confirmed="yes")

    assert done.status_code == 302
    assert Customer.objects.get(pk=zelda.pk).erased_at is not None
    assert LogEntry.objects.get(additional_data__erasure="personal data erased").actor == admin


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_only_the_admin_role_may_erase(zelda, client, user_with_role, role):
    user = user_with_role(role)
    user.is_staff = True  # even let into the Django admin, the action is not theirs
    user.save(update_fields=["is_staff"])
    client.force_login(user)

    changelist = client.get(reverse("admin:accounting_customer_changelist"))
    response = _action(client, zelda, confirmed="yes")

    if role == "analyst":  # the customers are theirs to view, not to erase
        action_form = changelist.context["action_form"]
        assert action_form is None or "erase_personal_data" not in dict(action_form.fields["action"].choices)
    else:
        assert changelist.status_code == 403
    assert response.status_code in (200, 302, 403)  # 200: the list again, "no action selected"
    assert Customer.objects.get(pk=zelda.pk).erased_at is None
    assert not user.has_perm("accounting.erase_customer")


def test_the_command_erases_and_says_what(zelda, admin):
    out = io.StringIO()

    call_command("erase_customer", "Z-1", "--by", admin.username, stdout=out)

    assert "Z-1: personal data erased: 1 invitation(s), 1 response(s)" in out.getvalue()
    assert Customer.objects.get(pk=zelda.pk).email == ""


def test_the_command_refuses_an_unknown_id_and_changes_nothing(zelda):
    with pytest.raises(CommandError, match="Unknown customer external id.*NOPE"):
        call_command("erase_customer", "Z-1", "NOPE", stdout=io.StringIO())

    assert Customer.objects.get(pk=zelda.pk).email == EMAIL


def test_a_responses_import_keeps_the_score_and_drops_the_words(zelda, admin, tmp_path):
    customer_erase(customer=zelda, by=admin)
    path = tmp_path / "answers.csv"
    path.write_text(f"customer,survey,score,answered_at,comment,touchpoint\nZ-1,Old,3,2024-05-01,{WORDS[1]},\n")

    call_command("import_responses", str(path), stdout=io.StringIO())

    imported = Response.objects.get(customer=zelda, survey__name="Old")
    assert (imported.score, imported.reason, imported.invitation.email) == (3, "", "")
    assert Response.history.model.objects.filter(reason__contains="0171").count() == 0


def test_an_answer_posted_from_a_page_opened_before_the_erasure_stores_nothing(zelda, admin):
    """The page read the invitation (invitation_find) before the erasure committed; its POST
    comes after: the words must not be stored again, nor the invitation marked answered."""
    invitation = InvitationFactory(customer=zelda)
    opened = invitation_find(invitation.token)
    assert opened is not None

    customer_erase(customer=zelda, by=admin)

    with pytest.raises(ResponseClosed):
        response_submit(invitation=opened, score=2, reason=WORDS[1], suggestion=WORDS[2])
    assert not Response.objects.filter(invitation=invitation).exists()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SENT and invitation.responded_at is None


def test_an_edit_posted_from_a_page_opened_before_the_erasure_stores_nothing(zelda, admin):
    invitation = Response.objects.get(customer=zelda).invitation
    Invitation.objects.filter(pk=invitation.pk).update(state=InvitationState.RESPONDED, responded_at=timezone.now())
    opened = invitation_find(invitation.token)
    assert opened is not None

    customer_erase(customer=zelda, by=admin)

    with pytest.raises(ResponseClosed):
        response_submit(invitation=opened, score=3, reason=WORDS[1])
    assert Response.objects.get(invitation=invitation).reason == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_sender_claiming_while_the_erasure_commits_emails_nobody():
    """The sender's claim starts while the erasure holds the row (it blanked its address) and runs
    once it committed: it must not take the customer's old address from before the erasure."""
    (invitation,) = queued_to([EMAIL])
    due = Invitation.objects.select_related("survey").get(pk=invitation.pk)

    claim = while_first_is_held(lambda: customer_erase(customer=invitation.customer), lambda: _claim(due))

    assert claim.waited and claim.error is None and claim.result is False
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.SUPPRESSED and invitation.email == ""
    assert invitation.suppression_reason == SuppressionReason.OPTED_OUT


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_reminder_claimed_while_the_erasure_commits_emails_nobody():
    invitation = InvitationFactory(customer=CustomerFactory(email=EMAIL))
    due = Invitation.objects.select_related("customer").get(pk=invitation.pk)  # the batch's read, before

    claim = while_first_is_held(lambda: customer_erase(customer=invitation.customer), lambda: _claim_reminder(due))

    assert claim.waited and claim.error is None and claim.result is False
    invitation.refresh_from_db()
    assert invitation.reminder_claimed_at is None


# --- No door lets staff type the personal data back ----------------------------------------------


def refusal(customer) -> str:
    day = timezone.localdate(Customer.objects.get(pk=customer.pk).erased_at)
    return f"This customer's personal data was erased on {day:%Y-%m-%d}; it cannot be set again."


@pytest.mark.parametrize("field, value", [("name", NAME), ("email", EMAIL), ("reason_text", WORDS[0])])
def test_the_api_refuses_to_set_an_erased_customers_personal_data(zelda, admin, api_client_as, field, value):
    customer_erase(customer=zelda, by=admin)
    url = reverse("api-customer-detail", args=[zelda.pk])

    refused = api_client_as("admin").patch(url, {field: value, "segment": "Enterprise"}, format="json")

    assert refused.status_code == 400 and refused.json() == {field: [refusal(zelda)]}
    customer = Customer.objects.get(pk=zelda.pk)
    assert (customer.name, customer.email, customer.reason_text, customer.segment) == ("", "", "", "SMB")


def test_the_api_still_edits_an_erased_customers_other_fields(zelda, admin, api_client_as):
    customer_erase(customer=zelda, by=admin)
    url = reverse("api-customer-detail", args=[zelda.pk])
    read = api_client_as("admin").get(url).json()

    # What it read sent back (blank name, email and text, "other" kept without its text) with a change.
    edited = api_client_as("admin").patch(
        url, {"name": "", "email": "", "reason": "other", "reason_text": "", "segment": "Enterprise"}, format="json"
    )

    assert edited.status_code == 200, edited.json()
    assert Customer.objects.get(pk=zelda.pk).segment == "Enterprise"
    assert read["reason"] == edited.json()["reason"] == "other"


def test_the_api_reason_endpoint_refuses_an_erased_customers_text(zelda, admin, api_client_as):
    customer_erase(customer=zelda, by=admin)

    refused = api_client_as("admin").post(
        reverse("api-customer-reason", args=[zelda.pk]), {"reason": "other", "reason_text": WORDS[0]}, format="json"
    )

    assert refused.status_code == 400 and refused.json() == {"reason_text": [refusal(zelda)]}
    assert Customer.objects.get(pk=zelda.pk).reason_text == ""


def test_the_bulk_api_ignores_an_erased_customers_personal_cells_as_the_csv_import(zelda, admin, api_client_as):
    customer_erase(customer=zelda, by=admin)
    row = {"external_id": "Z-1", "name": NAME, "email": EMAIL, "reason_text": WORDS[0], "segment": "Enterprise"}

    done = api_client_as("admin").post(reverse("api-customer-bulk"), [row], format="json")

    assert done.status_code == 201, done.json()
    assert "1 row(s) name a customer whose personal data was erased" in done.json()["message"]
    customer = Customer.objects.get(pk=zelda.pk)
    assert (customer.name, customer.email, customer.reason_text, customer.segment) == ("", "", "", "Enterprise")


def _change_form(client, customer, **changes):
    """The admin's change form of the customer posted back as drawn, with the changes."""
    url = reverse("admin:accounting_customer_change", args=[customer.pk])
    form = client.get(url).context["adminform"].form
    data = {name: field.widget.format_value(form[name].value()) or "" for name, field in form.fields.items()}
    data = {name: value for name, value in data.items() if value not in (None, False, "False")}
    return client.post(url, {**data, **changes})


def test_the_admin_shows_an_erased_customers_personal_fields_read_only(zelda, admin, client):
    customer_erase(customer=zelda, by=admin)
    client.force_login(admin)

    page = client.get(reverse("admin:accounting_customer_change", args=[zelda.pk]))
    saved = _change_form(client, zelda, name=NAME, email=EMAIL, reason_text=WORDS[0], segment="Enterprise")

    assert {"name", "email", "reason_text"}.isdisjoint(page.context["adminform"].form.fields)
    assert saved.status_code == 302
    customer = Customer.objects.get(pk=zelda.pk)
    assert (customer.name, customer.email, customer.reason_text, customer.segment) == ("", "", "", "Enterprise")


def test_the_admin_saves_an_erased_customers_other_change_without_a_text(zelda, admin, client):
    """Its reason "other" kept without its text: the form must not ask for one (it cannot be set)."""
    customer_erase(customer=zelda, by=admin)
    client.force_login(admin)

    saved = _change_form(client, zelda, segment="Enterprise")

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    customer = Customer.objects.get(pk=zelda.pk)
    assert (customer.segment, customer.reason, customer.reason_text) == ("Enterprise", reason("other"), "")


def test_the_customer_page_offers_no_reason_form_and_its_post_sets_no_text(zelda, admin, client):
    customer_erase(customer=zelda, by=admin)
    client.force_login(admin)

    page = client.get(reverse("accounting:customer-detail", args=[zelda.pk])).content.decode()
    posted = client.post(
        reverse("accounting:customer-reason", args=[zelda.pk]), {"reason": reason("other").pk, "reason_text": WORDS[0]}
    )

    assert reverse("accounting:customer-reason", args=[zelda.pk]) not in page
    assert "so its reason text cannot be set again" in page
    assert posted.status_code == 400 and refusal(zelda) in html.unescape(posted.content.decode())
    assert Customer.objects.get(pk=zelda.pk).reason_text == ""


# --- An email in flight as the erasure commits does not bring the address back -------------------


def _in_flight(customer):
    """An invitation claimed for sending (the address copied onto it), as the sender holds it."""
    row = InvitationFactory(customer=customer, state=InvitationState.SENDING, sent_at=None, message_id="<z@m>")
    return Invitation.objects.select_related("survey", "customer").get(pk=row.pk)


REFUSED = smtplib.SMTPRecipientsRefused({EMAIL: (550, f"5.7.1 <{EMAIL}>: relaying denied".encode())})
UNKNOWN = smtplib.SMTPRecipientsRefused({EMAIL: (550, f"5.1.1 <{EMAIL}>: user unknown".encode())})


def test_a_send_failing_after_the_erasure_stores_the_error_without_the_address(zelda, admin):
    invitation = _in_flight(zelda)
    customer_erase(customer=zelda, by=admin)

    sending._mark_error(invitation, REFUSED, transient=False)

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.FAILED
    assert invitation.last_error == "550 5.7.1 <address>: relaying denied"
    assert text_columns_holding(EMAIL) == []


def test_a_bounce_at_sending_after_the_erasure_stores_no_address_and_suppresses_nothing(zelda, admin):
    invitation = _in_flight(zelda)
    customer_erase(customer=zelda, by=admin)

    sending._mark_bounced(invitation, UNKNOWN)

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED
    assert invitation.last_error == "550 5.1.1 <address>: user unknown"
    assert not SuppressedAddress.objects.exists()
    assert text_columns_holding(EMAIL) == []


def test_a_bounce_at_sending_of_a_customer_not_erased_still_suppresses_the_address(zelda):
    invitation = _in_flight(zelda)

    sending._mark_bounced(invitation, UNKNOWN)

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED and EMAIL in invitation.last_error
    assert SuppressedAddress.objects.filter(email=EMAIL).exists()


class _Refusing:
    def open(self):
        return False

    def send_messages(self, messages):
        raise UNKNOWN


def test_a_reminder_refused_after_the_erasure_suppresses_nothing(zelda, admin):
    invitation = Invitation.objects.select_related("survey", "customer").get(customer=zelda)
    invitation.email = EMAIL  # claimed (_claim_reminder) before the erasure committed

    customer_erase(customer=zelda, by=admin)
    assert sending._remind(_Refusing(), invitation, set()) is False

    assert not SuppressedAddress.objects.exists()


def test_a_late_bounce_webhook_stores_no_address_and_suppresses_nothing(zelda, admin):
    invitation = _in_flight(zelda)
    customer_erase(customer=zelda, by=admin)

    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(
            event_type="bounced",
            timestamp=timezone.now(),
            message_id="<z@m>",
            recipient=EMAIL,
            description=f"550 5.1.1 <{EMAIL}>: user unknown",
        ),
        esp_name="TestESP",
    )

    invitation.refresh_from_db()
    assert invitation.state == InvitationState.BOUNCED
    assert not SuppressedAddress.objects.exists()
    assert text_columns_holding(EMAIL) == []


def test_an_anonymous_surveys_interrupted_invitation_still_reads_delivered_after_the_erasure(zelda, admin):
    # Its link may have been answered, so it reads "delivered" like its answered twins (surveys.
    # selectors.invitation_state_shown); blanking its "interrupted" mark would read "failed": not answered.
    survey = SurveyFactory(anonymous=True)
    interrupted = InvitationFactory(
        customer=zelda, survey=survey, email=EMAIL, state=InvitationState.FAILED, last_error=sending.INTERRUPTED
    )

    customer_erase(customer=zelda, by=admin)
    again = customer_erase(customer=zelda, by=admin)

    interrupted.refresh_from_db()
    assert interrupted.email == "" and invitation_state_shown(interrupted) == "delivered"
    assert [i["state"] for i in customer_data_export(customer=zelda)["invitations"] if i["survey_anonymous"]] == [
        "delivered"
    ]
    assert again.invitations == 0
