"""An address on an internationalised domain goes out with its domain in punycode (Django's
sanitize_address), so the provider's bounce names jo@xn--bcher-kva.de while the customer's address
is jo@bücher.de: the suppressed list keeps a row for the Unicode form and one for the punycode one,
and every check (launch, sending, reminders, reason emails, the admin) finds the address in either
form by one equality on the address, which PostgreSQL hashes instead of probing per customer."""

import datetime as dt
import importlib
import re

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.apps import apps
from django.core import mail
from django.core.mail.message import sanitize_address
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounting.models import Customer
from accounting.services import address_suppressed
from accounting.tasks import customers_to_ask, reason_requests_to_resend, send_reason_requests_to_new_customers
from surveys import sending
from surveys.emails import invitation_message
from surveys.launch import _with_suppression, survey_launch
from surveys.models import InvitationState, SuppressedAddress
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db

UNICODE, PUNYCODE = "jo@bücher.de", "jo@xn--bcher-kva.de"


def bounce(recipient):
    event = AnymailTrackingEvent(
        event_type="bounced", timestamp=timezone.now(), recipient=recipient, description="550 5.1.1 no such user"
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")


def test_a_bounce_of_the_address_as_sent_suppresses_the_customers_unicode_address_at_the_next_launch():
    customer = CustomerFactory(email=UNICODE)
    invitation = InvitationFactory(customer=customer, email=customer.email)
    sent_to = sanitize_address(invitation_message(invitation).to[0], "utf-8")  # as SMTP sends it
    assert sent_to == PUNYCODE

    bounce(sent_to)

    launch = survey_launch(survey=SurveyFactory(throttle_days=0))
    assert launch.invitations.get(customer=customer).suppression_reason == "bounced_before"


def listed():
    return sorted(SuppressedAddress.objects.values_list("email", flat=True))


def test_the_suppressed_address_is_kept_readable_with_the_form_it_was_sent_in():
    bounce("Jo@XN--BCHER-KVA.de")

    assert listed() == [UNICODE, PUNYCODE]
    assert set(SuppressedAddress.objects.values_list("kind", flat=True)) == {"bounced"}


@pytest.mark.parametrize("stored", [PUNYCODE, "Jo@XN--Bcher-kva.DE"])
def test_a_customer_address_stored_in_punycode_is_suppressed_too(stored):
    customer = CustomerFactory(email=stored)
    SuppressedAddress.objects.create(email=UNICODE, kind="bounced")  # an admin typed it

    launch = survey_launch(survey=SurveyFactory(throttle_days=0))

    assert launch.invitations.get(customer=customer).suppression_reason == "bounced_before"
    assert address_suppressed(stored)


def test_malformed_punycode_is_kept_as_given():
    bounce("jo@xn--zz.de")

    assert listed() == ["jo@xn--zz.de"]


def test_an_ascii_address_has_no_second_form_and_a_customer_without_an_address_matches_nothing():
    bounce("Gone@Example.com")

    assert listed() == ["gone@example.com"]
    assert not SuppressedAddress.objects.of_address("").exists()


def test_a_queued_invitation_whose_address_bounced_as_sent_since_is_not_emailed(settings):
    settings.SURVEY_SEND_RATE_PER_SECOND = 0
    queued = InvitationFactory(
        state=InvitationState.QUEUED, sent_at=None, expires_at=None, customer=CustomerFactory(email=UNICODE)
    )
    bounce(PUNYCODE)

    sending.send_batch()

    queued.refresh_from_db()
    assert (queued.state, queued.suppression_reason) == ("suppressed", "bounced_before")
    assert mail.outbox == []


def test_no_reminder_goes_to_an_address_that_bounced_as_sent():
    survey = SurveyFactory(reminder_days=1)
    earlier = timezone.now() - dt.timedelta(days=2)
    InvitationFactory(survey=survey, sent_at=earlier, customer=CustomerFactory(email=UNICODE))
    bounce(PUNYCODE)

    assert not sending.reminders_due().exists()


def test_no_reason_email_goes_to_an_address_that_bounced_as_sent(django_capture_on_commit_callbacks):
    CustomerFactory(email=UNICODE, acquired_on=timezone.localdate() - dt.timedelta(days=3))
    bounce(PUNYCODE)

    with django_capture_on_commit_callbacks(execute=True):
        send_reason_requests_to_new_customers(days=30)

    assert address_suppressed(UNICODE)
    assert mail.outbox == []


def test_the_admin_refuses_the_punycode_form_of_a_listed_address_as_a_duplicate(client, admin):
    SuppressedAddress.objects.create(email=UNICODE, kind="bounced")
    client.force_login(admin)

    response = client.post(
        reverse("admin:surveys_suppressedaddress_add"),
        {"email": PUNYCODE, "kind": "complained", "detail": "",
         "created_at_0": "2026-01-01", "created_at_1": "10:00:00"},
    )

    assert response.status_code == 200
    assert f"{UNICODE} is already suppressed (bounced)" in response.content.decode()
    assert listed() == [UNICODE, PUNYCODE]  # its two forms, nothing added


def test_the_migration_lists_existing_entries_in_every_form_once():
    migration = importlib.import_module("surveys.migrations.0015_suppressed_address_idn_forms")
    # As stored before: one form only, as a bounce named it or an admin typed it.
    SuppressedAddress.objects.bulk_create([
        SuppressedAddress(email=PUNYCODE, kind="bounced"),
        SuppressedAddress(email="bo@bücher.de", kind="complained"),
        SuppressedAddress(email="bo@xn--bcher-kva.de", kind="bounced"),  # both forms listed already
        SuppressedAddress(email="ann@example.com", kind="bounced"),
        # Rows in capitals the database now refuses: tests/test_migrations_upgrade.py upgrades them.
        SuppressedAddress(email="al@xn--bcher-kva.de", kind="complained"),
        SuppressedAddress(email="jo@xn--zz.de", kind="bounced"),
    ])
    expected = [
        ("al@bücher.de", "complained"), ("al@xn--bcher-kva.de", "complained"), ("ann@example.com", "bounced"),
        ("bo@bücher.de", "complained"), ("bo@xn--bcher-kva.de", "bounced"),
        (UNICODE, "bounced"), (PUNYCODE, "bounced"), ("jo@xn--zz.de", "bounced"),
    ]

    for _ in range(2):  # and again: nothing more
        migration.entries_in_every_form(apps, None)

        assert sorted(SuppressedAddress.objects.values_list("email", "kind")) == expected


# --- One row per form ---------------------------------------------------------------------------


def test_a_bounce_lists_both_forms_once_however_often_either_is_reported():
    bounce(PUNYCODE)
    bounce(UNICODE)
    bounce("JO@XN--BCHER-KVA.DE")

    assert listed() == [UNICODE, PUNYCODE]


def test_an_address_an_admin_adds_is_listed_in_both_forms(client, admin):
    client.force_login(admin)

    response = client.post(
        reverse("admin:surveys_suppressedaddress_add"),
        {"email": "Jo@Bücher.de", "kind": "complained", "detail": "by phone",
         "created_at_0": "2026-01-01", "created_at_1": "10:00:00"},
    )

    assert response.status_code == 302
    assert sorted(SuppressedAddress.objects.values_list("email", "kind", "detail")) == [
        (UNICODE, "complained", "by phone"), (PUNYCODE, "complained", "by phone"),
    ]
    changelist = client.get(reverse("admin:surveys_suppressedaddress_changelist")).content.decode()
    assert UNICODE in changelist and PUNYCODE in changelist


def test_an_address_sent_with_its_sharp_s_mapped_is_listed_as_it_is_sent():
    # Django sends jo@straße.de as jo@strasse.de (IDNA 2003); that other address is suppressed too,
    # while a bounce of jo@strasse.de is that address's own.
    bounce("jo@straße.de")

    assert listed() == ["jo@strasse.de", "jo@straße.de"]


@pytest.mark.parametrize("lifted", [UNICODE, PUNYCODE])
def test_lifting_either_form_in_the_admin_lifts_both(client, admin, lifted):
    bounce(PUNYCODE)
    SuppressedAddress.objects.create(email="gone@example.com", kind="bounced")
    client.force_login(admin)
    entry = SuppressedAddress.objects.get(email=lifted)

    response = client.post(reverse("admin:surveys_suppressedaddress_delete", args=[entry.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert listed() == ["gone@example.com"]
    assert not address_suppressed(UNICODE) and not address_suppressed(PUNYCODE)


@pytest.mark.parametrize("how", ["delete", "change"])
def test_lifting_the_sent_form_of_a_sharp_s_address_lifts_the_address_itself(client, admin, how):
    """jo@straße.de maps to jo@strasse.de but not back: lifting (or changing) the sent form left the
    customer's own address suppressed."""
    bounce("jo@straße.de")
    entry = SuppressedAddress.objects.get(email="jo@strasse.de")
    client.force_login(admin)

    if how == "delete":
        response = client.post(reverse("admin:surveys_suppressedaddress_delete", args=[entry.pk]), {"post": "yes"})
        expected = []
    else:
        response = client.post(reverse("admin:surveys_suppressedaddress_change", args=[entry.pk]), {
            "email": "jo@example.com", "kind": "bounced", "detail": "typo",
            "created_at_0": "2026-01-01", "created_at_1": "10:00:00",
        })
        expected = ["jo@example.com"]

    assert response.status_code == 302
    assert listed() == expected
    assert not address_suppressed("jo@straße.de")


def test_lifting_addresses_in_bulk_lifts_their_other_forms(client, admin):
    bounce(PUNYCODE)
    bounce("bo@bücher.de")
    SuppressedAddress.objects.create(email="gone@example.com", kind="bounced")
    client.force_login(admin)
    chosen = SuppressedAddress.objects.filter(email__in=[UNICODE, "bo@xn--bcher-kva.de", "gone@example.com"])

    response = client.post(
        reverse("admin:surveys_suppressedaddress_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk for entry in chosen], "post": "yes"},
    )

    assert response.status_code == 302
    assert listed() == []


def test_an_address_changed_in_the_admin_lifts_the_old_one_in_every_form(client, admin):
    bounce(PUNYCODE)
    entry = SuppressedAddress.objects.get(email=UNICODE)
    client.force_login(admin)
    url = reverse("admin:surveys_suppressedaddress_change", args=[entry.pk])

    response = client.post(url, {"email": "al@bücher.de", "kind": "bounced", "detail": "typo",
                                 "created_at_0": "2026-01-01", "created_at_1": "10:00:00"})

    assert response.status_code == 302
    assert listed() == ["al@bücher.de", "al@xn--bcher-kva.de"]


def test_an_entry_saved_in_the_admin_in_its_other_form_stays_itself(client, admin):
    bounce(UNICODE)
    entry = SuppressedAddress.objects.get(email=PUNYCODE)
    client.force_login(admin)
    url = reverse("admin:surveys_suppressedaddress_change", args=[entry.pk])

    response = client.post(url, {"email": UNICODE, "kind": "complained", "detail": "",
                                 "created_at_0": "2026-01-01", "created_at_1": "10:00:00"})

    assert response.status_code == 302  # not a duplicate of its own other form, nor a 500
    entry.refresh_from_db()
    assert (entry.email, entry.kind) == (PUNYCODE, "complained")
    assert listed() == [UNICODE, PUNYCODE]


# --- Every check is one equality on the address -------------------------------------------------


def suppression_lookups(sql: str) -> list[str]:
    """The WHERE of each sub-query on the suppressed list in `sql` (up to its closing parenthesis)."""
    found = []
    for part in sql.split('FROM "surveys_suppressedaddress"')[1:]:
        depth, end = 0, len(part)
        for at, char in enumerate(part):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                end = at
                break
        found.append(part[:end])
    return found


def is_the_claim(sql: str) -> bool:
    return "surveys_claim" in sql or sql.strip().startswith(sending.CLAIM_SQL.strip()[:40])


def test_every_suppression_check_looks_the_address_up_by_one_equality():
    customer = CustomerFactory(email=UNICODE, acquired_on=timezone.localdate())
    InvitationFactory(customer=customer, state=InvitationState.QUEUED, sent_at=None)
    InvitationFactory(customer=customer, survey=SurveyFactory(reminder_days=1))
    bounce(PUNYCODE)

    with CaptureQueriesContext(connection) as queries:
        survey_launch(survey=SurveyFactory(throttle_days=0))
        sending.send_batch()
        list(sending.reminders_due())
        list(customers_to_ask(days=30))
        list(reason_requests_to_resend())
        address_suppressed(UNICODE)

    # The sending claim's statement is prepared once per connection on PostgreSQL (then only EXECUTEd):
    # it is checked as written instead.
    statements = [query["sql"] for query in queries if not is_the_claim(query["sql"])] + [sending.CLAIM_SQL]
    lookups = [where for sql in statements for where in suppression_lookups(sql)]
    assert len(lookups) == 6
    for where in lookups:
        # The list's own columns compared: its email, once; no OR over two of them.
        assert re.findall(r'(?:\bU\d+|"surveys_suppressedaddress")\."(\w+)"', where) == ["email"], where
        assert " OR " not in where.upper(), where


def test_postgresql_hashes_the_suppressed_list_rather_than_probing_it_per_customer():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan")
    Customer.objects.bulk_create(Customer(external_id=f"c{n}", email=f"c{n}@example.com") for n in range(5000))
    SuppressedAddress.objects.bulk_create(
        SuppressedAddress(email=f"c{n}@example.com", kind="bounced") for n in range(0, 5000, 5)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounting_customer, surveys_suppressedaddress")
    launch_rows = _with_suppression(Customer.objects.all(), SurveyFactory(), timezone.now()).values("bounced_before")
    sql, params = launch_rows.query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (VERBOSE) " + sql, params)
        plan = "\n".join(row for row, in cursor.fetchall())

    # The list hashed once for the launch's audience, not looked up once per customer (as an OR
    # over two columns had it).
    assert re.search(r"\(hashed SubPlan \d+\)", plan), plan


# --- Lifting many at once -----------------------------------------------------------------------


def _listed(n, local=None):
    SuppressedAddress.objects.bulk_create(
        [SuppressedAddress(email=f"{local or f'user{i}'}@d{i}.example.com", kind="bounced") for i in range(n)]
    )


def test_lifting_many_suppressed_addresses_at_once_does_not_fail():
    """'Select all' of a filtered list (the bounces of a provider outage): one OR of a LIKE per
    address overflowed SQLite's expression depth (a 500) and took seconds on PostgreSQL."""
    _listed(1200)

    SuppressedAddress.objects.all().delete_with_forms()

    assert not SuppressedAddress.objects.exists()


def test_the_admin_lifts_every_bounce_of_a_filtered_list_at_once(client, admin):
    _listed(1200)
    client.force_login(admin)
    first = SuppressedAddress.objects.order_by("pk").first()

    response = client.post(
        reverse("admin:surveys_suppressedaddress_changelist"),
        {"action": "delete_selected", "select_across": "1", "index": "0", "_selected_action": [first.pk],
         "post": "yes"},
    )

    assert response.status_code == 302
    assert not SuppressedAddress.objects.exists()


def test_lifting_many_sent_forms_of_sharp_s_addresses_lifts_the_addresses_too():
    """The same at scale, in the direction IDNA does not map back: 1,200 jo…@straße.de addresses,
    each listed in both forms; lifting the sent forms (…@strasse.de) must lift the addresses."""
    for i in range(1200):
        SuppressedAddress.objects.create(email=f"jo{i}@straße.de", kind="bounced")
    assert SuppressedAddress.objects.count() == 2400

    SuppressedAddress.objects.filter(email__endswith="@strasse.de").delete_with_forms()

    assert not SuppressedAddress.objects.exists()
