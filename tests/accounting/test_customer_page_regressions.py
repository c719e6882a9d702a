"""The customer page as staff read it: how a customer counts in the reports, whether it was asked
for its reason, and how much of its ledger the recent list leaves out. Regressions found by an
audit of the customer data (TAG cust)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounting import selectors
from accounting.models import ReasonRequest, RevenueEntry
from tests.factories import CostEntryFactory, CustomerFactory, RevenueEntryFactory, UserFactory, reason

pytestmark = pytest.mark.django_db


def detail_url(customer):
    return reverse("accounting:customer-detail", args=[customer.pk])


def section(text: str, title_id: str) -> str:
    start = text.index(f'id="{title_id}"')
    return text[start : text.index("</section>", start)]


def reason_cell(text: str) -> str:
    start = text.index("<dt>Reason</dt><dd>") + len("<dt>Reason</dt><dd>")
    return text[start : text.index("</dd>", start)]


# --- A member counts under its entity's class -----------------------------------------------------


def test_a_members_page_shows_the_entitys_reason_class(client_as):
    # Reports class a member's revenue by its entity's (top ancestor's) reason (README, Earned
    # growth; SPEC §3): a member whose own answer is earned but whose entity's is bought read only
    # "Earned" on its page.
    top = CustomerFactory(external_id="TOP", reason=reason("advertising"))
    kid = CustomerFactory(external_id="KID", parent=top, reason=reason("recommendation"))

    response = client_as("analyst").get(detail_url(kid))

    assert '<span class="badge earned"' in response.text  # its own answer
    counts_as = response.text[response.text.index("<dt>Counts in reports as</dt>") :]
    counts_as = counts_as[: counts_as.index("</dd>")]
    assert '<span class="badge bought"' in counts_as
    assert f'(entity <a href="{detail_url(top)}">' in counts_as


def test_an_entitys_own_page_does_not_repeat_its_class(client_as):
    top = CustomerFactory(external_id="TOP", reason=reason("advertising"))
    CustomerFactory(parent=top)

    response = client_as("analyst").get(detail_url(top))

    assert "Counts in reports as" not in response.text


# --- An entity's page shows the entity's ledger ---------------------------------------------------


def test_an_entitys_page_shows_the_entitys_rolled_up_revenue(client_as):
    top = CustomerFactory(external_id="TOP")
    mid = CustomerFactory(external_id="MID", parent=top)
    low = CustomerFactory(external_id="LOW", parent=mid)
    RevenueEntryFactory(customer=top, date=dt.date(2024, 3, 1), amount=Decimal("100.00"))
    RevenueEntryFactory(customer=mid, date=dt.date(2024, 4, 1), amount=Decimal("50.00"))
    RevenueEntryFactory(customer=low, date=dt.date(2024, 5, 1), amount=Decimal("25.00"))
    CostEntryFactory(customer=low, date=dt.date(2023, 5, 1), amount=Decimal("7.50"))
    RevenueEntryFactory(customer=CustomerFactory(), date=dt.date(2024, 3, 1), amount=Decimal("999.00"))

    response = client_as("analyst").get(detail_url(top))

    # The entity is the unit of every retention figure (SPEC §2): its 2024 revenue is 175.00.
    ledger = response.context["entity_ledger"]
    assert [(y.year, y.revenue, y.costs) for y in ledger.years] == [
        (2024, Decimal("175.00"), Decimal("0.00")),
        (2023, Decimal("0.00"), Decimal("7.50")),
    ]
    assert "175.00" in section(response.text, "entity-ledger-title")
    assert "100.00" in section(response.text, "ledger-title")  # its own lines keep their table


def test_only_an_entity_with_members_gets_the_entity_ledger(client_as):
    top = CustomerFactory(external_id="TOP")
    mid = CustomerFactory(external_id="MID", parent=top)
    CustomerFactory(external_id="LOW", parent=mid)
    alone = CustomerFactory(external_id="ALONE")
    client = client_as("analyst")

    for customer in (mid, alone):  # a member with children of its own; an entity of one
        response = client.get(detail_url(customer))
        assert response.context["entity_ledger"] is None
        assert "Entity ledger by year" not in response.text


def test_an_entitys_page_adds_one_query_for_its_ledger(client_as, django_assert_num_queries):
    client = client_as("analyst")
    top = CustomerFactory()
    for _ in range(10):
        RevenueEntryFactory(customer=CustomerFactory(parent=top))
    # As a member's page (tests/accounting/test_views_customers.py, 11), plus the entity ledger.
    with django_assert_num_queries(12):
        client.get(detail_url(top))


# --- Whether the customer was asked ---------------------------------------------------------------


def ask(customer, *, made, days_valid=30, sent=True, answered=None):
    return ReasonRequest.objects.create(
        customer=customer,
        token_hash=f"{customer.pk:064d}",
        created_at=made,
        expires_at=made + dt.timedelta(days=days_valid),
        sent_at=made if sent else None,
        answered_at=answered,
    )


def test_a_customer_who_was_emailed_the_link_is_not_shown_as_not_asked_yet(client_as):
    customer = CustomerFactory(external_id="ASKED")
    now = timezone.now()
    request = ask(customer, made=now)

    response = client_as("analyst").get(detail_url(customer))

    assert "Recent links" in response.text  # the sent link is listed just below...
    assert reason_cell(response.text) == (  # ...and the reason says so
        f"no answer yet — asked on {timezone.localdate(now).isoformat()},"
        f" link works until {request.last_day.isoformat()}"
    )


def test_an_expired_link_says_when_it_expired(client_as):
    customer = CustomerFactory()
    made = timezone.now() - dt.timedelta(days=40)
    request = ask(customer, made=made)

    response = client_as("analyst").get(detail_url(customer))

    assert reason_cell(response.text) == f"no answer — link expired on {timezone.localdate(request.expires_at)}"


def test_a_link_not_emailed_yet_says_so(client_as):
    customer = CustomerFactory()
    ask(customer, made=timezone.now(), sent=False)

    response = client_as("analyst").get(detail_url(customer))

    assert "not emailed yet" in reason_cell(response.text)


def test_the_latest_request_decides_the_wording():
    customer = CustomerFactory()
    old = ask(customer, made=timezone.now() - dt.timedelta(days=40))
    old.token_hash = "b" * 64
    old.save(update_fields=["token_hash"])
    ask(customer, made=timezone.now())

    latest = selectors.customer_reason_requests(customer)[0]

    assert selectors.reason_request_status(latest).startswith("no answer yet — asked on")


def test_of_two_requests_made_at_the_same_moment_the_later_one_is_the_latest():
    customer = CustomerFactory()
    moment = timezone.now()
    first = ask(customer, made=moment)
    first.token_hash = "c" * 64  # the next request's own hash
    first.save(update_fields=["token_hash"])
    second = ask(customer, made=moment)

    assert [r.pk for r in selectors.customer_reason_requests(customer)] == [second.pk, first.pk]


def test_a_customer_never_asked_reads_not_asked_yet(client_as):
    response = client_as("analyst").get(detail_url(CustomerFactory()))

    assert reason_cell(response.text) == "not asked yet"


def test_a_known_reason_is_shown_whatever_the_requests(client_as):
    customer = CustomerFactory(reason=reason("advertising"))
    ask(customer, made=timezone.now())

    response = client_as("analyst").get(detail_url(customer))

    assert reason_cell(response.text) == str(reason("advertising"))


# --- A large ledger -------------------------------------------------------------------------------


def big_customer(lines: int):
    customer = CustomerFactory(external_id="BIG")
    RevenueEntry.objects.bulk_create(
        RevenueEntry(
            customer=customer,
            date=dt.date(2015, 1, 1) + dt.timedelta(days=(i * 3653) // lines),
            amount=Decimal("10.00"),
            external_ref=f"BIG-{i:05d}",
        )
        for i in range(lines)
    )
    return customer


def revenue_heading(text: str) -> str:
    start = text.index('id="revenue-title"')
    return text[start : text.index("</h2>", start)]


def test_a_large_ledger_says_how_many_lines_the_recent_list_leaves_out(client_as):
    customer = big_customer(5000)

    response = client_as("analyst").get(detail_url(customer))

    years = [y.year for y in response.context["ledger"].years]
    assert years == list(range(2024, 2014, -1))  # every year is totalled
    # "last 50 entries" read the same for a customer with 50 lines and one with 5,000.
    assert "(latest 50 of 5,000 entries)" in revenue_heading(response.text)
    api = f'{reverse("api-revenue-list")}?customer=BIG&amp;ordering=-date'
    assert f'<a href="{api}">All 5,000 revenue entries of this customer in the API</a>' in response.text


def test_a_short_ledger_says_all_its_lines_are_listed(client_as):
    customer = CustomerFactory()
    RevenueEntryFactory.create_batch(3, customer=customer)

    response = client_as("analyst").get(detail_url(customer))

    assert "(all 3 entries)" in revenue_heading(response.text)
    assert reverse("api-revenue-list") not in response.text


def test_the_api_link_is_only_for_users_who_may_read_the_revenue_api(client):
    # The permission matrix: api-revenue-list needs view_revenueentry (analysts and admins); a
    # user given the customer pages alone would follow the link to a 403.
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_customer", content_type__app_label="accounting"))
    client.force_login(user)
    customer = big_customer(60)

    response = client.get(detail_url(customer))

    assert response.status_code == 200
    assert "(latest 50 of 60 entries)" in revenue_heading(response.text)
    assert reverse("api-revenue-list") not in response.text
