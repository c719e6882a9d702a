"""The customer list and customer page of the staff UI."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounting import selectors
from accounting.models import Customer, ReasonKind, ReasonRequest
from tests.factories import CostEntryFactory, CustomerFactory, RevenueEntryFactory, reason

pytestmark = pytest.mark.django_db

LIST_URL = reverse("accounting:customer-list")


def detail_url(customer):
    return reverse("accounting:customer-detail", args=[customer.pk])


def listed_ids(response) -> list[str]:
    return [c.external_id for c in response.context["page_obj"]]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- List -----------------------------------------------------------------------------------------


def test_it_lists_customers_with_their_total_revenue(client_as):
    parent = CustomerFactory(external_id="P1", name="Parent Co")
    child = CustomerFactory(external_id="C1", name="Child Co", parent=parent)
    RevenueEntryFactory(customer=child, amount=Decimal("1200.50"))
    RevenueEntryFactory(customer=child, amount=Decimal("-200.00"))

    response = client_as("analyst").get(LIST_URL)

    assert response.status_code == 200
    rows = {c.external_id: c for c in response.context["page_obj"]}
    assert rows["C1"].total_revenue == Decimal("1000.50")
    assert rows["P1"].total_revenue == Decimal("0.00")
    assert "1,000.50" in response.text
    # The child's row names its entity, the parent's says it is its own.
    assert f'href="{detail_url(parent)}">P1</a>' in response.text


def test_it_lists_without_n_plus_one_queries(client_as, django_assert_num_queries):
    client = client_as("analyst")
    parents = CustomerFactory.create_batch(5, reason=reason("advertising"))
    for index in range(60):
        customer = CustomerFactory(parent=parents[index % 5], reason=reason("recommendation"))
        RevenueEntryFactory(customer=customer)
    # session, user, user permissions, group permissions, segments, count, page
    with django_assert_num_queries(7):
        response = client.get(LIST_URL, {"page": 2})
    assert len(response.context["page_obj"]) == 15


@pytest.mark.parametrize(
    ("term", "expected"),
    [("c-ac", ["C-ACME"]), ("globex", ["C-GLOBEX"]), ("initech.example", ["C-INITECH"])],
)
def test_it_searches_external_id_name_and_email(client_as, term, expected):
    CustomerFactory(external_id="C-ACME", name="Acme", email="buyer@acme.example")
    CustomerFactory(external_id="C-GLOBEX", name="Globex Corporation", email="ops@gx.example")
    CustomerFactory(external_id="C-INITECH", name="Initech", email="bill@initech.example")

    response = client_as("analyst").get(LIST_URL, {"q": term})

    assert listed_ids(response) == expected


def test_it_filters_by_segment(client_as):
    CustomerFactory(external_id="A", segment="Enterprise")
    CustomerFactory(external_id="B", segment="SMB")

    response = client_as("analyst").get(LIST_URL, {"segment": "Enterprise"})

    assert listed_ids(response) == ["A"]
    assert '<option value="Enterprise" selected>Enterprise</option>' in response.text


def test_it_ignores_an_unknown_segment_and_says_so(client_as):
    CustomerFactory(external_id="A", segment="SMB")

    response = client_as("analyst").get(LIST_URL, {"segment": "Nope"})

    assert listed_ids(response) == ["A"]
    assert "Select a valid choice" in response.text


@pytest.fixture
def customers_by_class():
    earned = CustomerFactory(external_id="EARNED", reason=reason("recommendation"))
    bought = CustomerFactory(external_id="BOUGHT", reason=reason("advertising"))
    other = CustomerFactory(external_id="OTHER", reason=reason("other"), reason_text="a fair")
    mapped = CustomerFactory(
        external_id="MAPPED",
        reason=reason("other"),
        reason_text="a friend told me",
        reason_mapped_to=reason("recommendation"),
    )
    mapped_bought = CustomerFactory(
        external_id="MAPPED-BOUGHT",
        reason=reason("other"),
        reason_text="a flyer",
        reason_mapped_to=reason("advertising"),
    )
    none = CustomerFactory(external_id="NONE")
    return [earned, bought, other, mapped, mapped_bought, none]


@pytest.mark.parametrize(
    ("reason_class", "expected"),
    [
        ("earned", ["EARNED", "MAPPED"]),
        ("bought", ["BOUGHT", "MAPPED-BOUGHT"]),
        ("unknown", ["NONE", "OTHER"]),
    ],
)
def test_it_filters_by_reason_class(client_as, customers_by_class, reason_class, expected):
    response = client_as("analyst").get(LIST_URL, {"reason_class": reason_class})

    assert listed_ids(response) == expected


def test_its_reason_class_agrees_with_the_model(customers_by_class):
    for customer in selectors.customer_list():
        assert customer.reason_class == customer.reason_kind, customer.external_id


def test_it_shows_the_reason_class_badge(client_as, customers_by_class):
    response = client_as("analyst").get(LIST_URL, {"q": "MAPPED-BOUGHT"})

    assert '<span class="badge bought"' in response.text
    assert "Advertising" in response.text


def test_it_paginates_by_50_and_keeps_the_filters(client_as):
    for index in range(120):
        CustomerFactory(external_id=f"E{index:03d}", segment="Enterprise")
    CustomerFactory(external_id="S001", segment="SMB")
    client = client_as("analyst")

    first = client.get(LIST_URL, {"segment": "Enterprise", "q": "E"})
    third = client.get(LIST_URL, {"segment": "Enterprise", "q": "E", "page": 3})

    assert len(first.context["page_obj"]) == 50
    assert first.context["page_obj"].paginator.num_pages == 3
    assert 'href="?segment=Enterprise&amp;q=E&amp;page=2"' in first.text
    assert listed_ids(third) == [f"E{index:03d}" for index in range(100, 120)]
    assert 'href="?segment=Enterprise&amp;q=E&amp;page=2"' in third.text


@pytest.mark.parametrize("page", ["999", "nope"])
def test_it_survives_a_bad_page_number(client_as, page):
    CustomerFactory()

    response = client_as("analyst").get(LIST_URL, {"page": page})

    assert response.status_code == 200
    assert len(response.context["page_obj"]) == 1


def test_it_escapes_customer_data(client_as):
    customer = CustomerFactory(name="<script>alert(1)</script>", segment="<b>seg</b>")

    listing = client_as("analyst").get(LIST_URL)
    page = client_as("analyst").get(detail_url(customer))

    for response in (listing, page):
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
        assert "<b>seg</b>" not in response.text


# --- Customer page --------------------------------------------------------------------------------


def test_it_shows_the_customer_details_and_relations(client_as):
    top = CustomerFactory(external_id="TOP", name="Top Holding")
    parent = CustomerFactory(external_id="MID", name="Division", parent=top)
    customer = CustomerFactory(
        external_id="ME",
        name="Me",
        parent=parent,
        referred_by=top,
        reason=reason("other"),
        reason_text="Met you at a fair",
        reason_source="import",
    )
    child = CustomerFactory(external_id="KID", name="Kid", parent=customer)
    referral = CustomerFactory(external_id="REF", name="Referred", referred_by=customer)
    RevenueEntryFactory(customer=referral, amount=Decimal("75.25"))

    response = client_as("analyst").get(detail_url(customer))

    assert response.status_code == 200
    text = response.text
    assert f'href="{detail_url(parent)}">Division (MID)</a>' in text
    assert f'href="{detail_url(top)}">Top Holding (TOP)</a>' in text
    assert [c.external_id for c in response.context["children"]] == [child.external_id]
    assert [c.external_id for c in response.context["referrals"]] == ["REF"]
    assert response.context["referrals"][0].total_revenue == Decimal("75.25")
    assert "75.25" in text
    assert "Met you at a fair" in text
    assert '<span class="badge unknown"' in text


def test_it_totals_the_ledger_per_year(client_as, django_assert_max_num_queries):
    customer = CustomerFactory()
    other = CustomerFactory()
    RevenueEntryFactory(customer=customer, date=dt.date(2024, 3, 1), amount=Decimal("100.00"))
    RevenueEntryFactory(customer=customer, date=dt.date(2024, 12, 31), amount=Decimal("50.10"))
    RevenueEntryFactory(customer=customer, date=dt.date(2025, 1, 1), amount=Decimal("200.00"))
    RevenueEntryFactory(customer=customer, date=dt.date(2025, 6, 1), amount=Decimal("-30.00"))
    CostEntryFactory(customer=customer, date=dt.date(2024, 5, 1), amount=Decimal("10.05"))
    CostEntryFactory(customer=customer, date=dt.date(2023, 5, 1), amount=Decimal("5.00"))
    RevenueEntryFactory(customer=other, date=dt.date(2024, 3, 1), amount=Decimal("999.00"))

    ledger = selectors.customer_ledger_by_year(customer)

    assert [(y.year, y.revenue, y.costs, y.profit) for y in ledger.years] == [
        (2025, Decimal("170.00"), Decimal("0.00"), Decimal("170.00")),
        (2024, Decimal("150.10"), Decimal("10.05"), Decimal("140.05")),
        (2023, Decimal("0.00"), Decimal("5.00"), Decimal("-5.00")),
    ]
    assert (ledger.revenue, ledger.costs, ledger.profit) == (
        Decimal("320.10"),
        Decimal("15.05"),
        Decimal("305.05"),
    )
    response = client_as("analyst").get(detail_url(customer))
    row_2024 = re.search(r"<th scope=\"row\">2024</th>(.*?)</tr>", response.text, re.S).group(1)
    assert re.findall(r">(-?[\d,]+\.\d\d)<", row_2024) == ["150.10", "10.05", "140.05"]
    assert '<span class="neg">-5.00</span>' in response.text


def test_it_reads_the_ledger_in_one_query(django_assert_num_queries):
    customer = CustomerFactory()
    RevenueEntryFactory(customer=customer)
    CostEntryFactory(customer=customer)

    with django_assert_num_queries(1):
        selectors.customer_ledger_by_year(customer)


def test_it_shows_the_50_most_recent_revenue_entries(client_as):
    customer = CustomerFactory()
    for day in range(1, 61):
        RevenueEntryFactory(
            customer=customer,
            date=dt.date(2025, 1, 1) + dt.timedelta(days=day),
            external_ref=f"REF-{day:03d}",
        )

    response = client_as("analyst").get(detail_url(customer))

    refs = [entry.external_ref for entry in response.context["recent_revenue"]]
    assert refs == [f"REF-{day:03d}" for day in range(60, 10, -1)]
    assert "REF-060" in response.text
    assert "REF-010" not in response.text


def test_its_page_does_not_grow_queries_with_relations(client_as, django_assert_num_queries):
    client = client_as("analyst")
    customer = CustomerFactory(parent=CustomerFactory(), referred_by=CustomerFactory())
    for _ in range(10):
        referral = CustomerFactory(referred_by=customer, parent=customer)
        RevenueEntryFactory(customer=referral)
    # session, user, 2 x permissions, customer, children, referrals, ledger, revenue, requests,
    # and the active categories of the reason form
    with django_assert_num_queries(11):
        client.get(detail_url(customer))


# --- Setting the reason ---------------------------------------------------------------------------


def reason_url(customer):
    return reverse("accounting:customer-reason", args=[customer.pk])


def test_it_sets_the_reason_as_staff(client_as):
    customer = CustomerFactory()

    response = client_as("analyst").post(
        reason_url(customer), {"reason": reason("salesperson").pk, "reason_text": " via Anna "}
    )

    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)
    customer.refresh_from_db()
    assert customer.reason == reason("salesperson")
    assert customer.reason_text == "via Anna"
    assert customer.reason_source == "staff"
    assert customer.reason_answered_at is not None
    assert customer.reason_kind == ReasonKind.BOUGHT
    assert messages_of(response) == ["Acquisition reason saved: A helpful salesperson."]


def test_it_sets_other_with_its_text(client_as):
    customer = CustomerFactory()

    client_as("admin").post(reason_url(customer), {"reason": reason("other").pk, "reason_text": "Saw you at a fair"})

    customer.refresh_from_db()
    assert (customer.reason.slug, customer.reason_text) == ("other", "Saw you at a fair")


@pytest.mark.parametrize("text", ["", "   "])
def test_it_rejects_other_without_text(client_as, text):
    customer = CustomerFactory(reason=reason("advertising"))

    response = client_as("analyst").post(reason_url(customer), {"reason": reason("other").pk, "reason_text": text})

    assert response.status_code == 400
    assert "Please say what the other reason is." in response.text
    customer.refresh_from_db()
    assert customer.reason == reason("advertising")


def test_it_requires_a_reason(client_as):
    customer = CustomerFactory()

    response = client_as("analyst").post(reason_url(customer), {"reason": "", "reason_text": "x"})

    assert response.status_code == 400
    assert "This field is required." in response.text
    customer.refresh_from_db()
    assert customer.reason is None


def test_it_rejects_an_inactive_category(client_as):
    retired = reason("promotion")
    retired.is_active = False
    retired.save()
    customer = CustomerFactory()

    response = client_as("analyst").post(reason_url(customer), {"reason": retired.pk})

    assert response.status_code == 400
    customer.refresh_from_db()
    assert customer.reason is None


def test_it_replaces_a_mapped_other_answer(client_as):
    customer = CustomerFactory(reason=reason("other"), reason_text="x", reason_mapped_to=reason("recommendation"))

    client_as("analyst").post(reason_url(customer), {"reason": reason("advertising").pk})

    customer.refresh_from_db()
    assert customer.reason_mapped_to is None
    assert customer.reason_kind == ReasonKind.BOUGHT


def test_it_rejects_a_viewer(client_as):
    customer = CustomerFactory()

    response = client_as("viewer").post(reason_url(customer), {"reason": reason("returning").pk})

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.reason is None


# --- Asking the customer --------------------------------------------------------------------------


def request_url(customer):
    return reverse("accounting:customer-reason-request", args=[customer.pk])


def test_it_emails_the_reason_link(client_as, mailoutbox, django_capture_on_commit_callbacks):
    customer = CustomerFactory(email="dana@customer.example")
    client = client_as("analyst")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(request_url(customer))

    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)
    assert [m.to for m in mailoutbox] == [["dana@customer.example"]]
    assert "/why/" in mailoutbox[0].body
    request = ReasonRequest.objects.get(customer=customer)
    assert request.created_by == response.wsgi_request.user
    assert request.sent_at is not None
    assert any("dana@customer.example" in m for m in messages_of(response))


def test_it_says_when_the_customer_has_no_email(client_as, mailoutbox):
    customer = CustomerFactory(email="", external_id="NOMAIL")

    response = client_as("analyst").post(request_url(customer), follow=True)

    assert "Customer NOMAIL has no email address." in response.text
    assert not ReasonRequest.objects.exists()
    assert mailoutbox == []


def test_it_does_not_ask_a_customer_who_opted_out(client_as, mailoutbox):
    customer = CustomerFactory(external_id="OPTOUT", survey_opt_out=True)
    client = client_as("analyst")

    page = client.get(detail_url(customer))
    response = client.post(request_url(customer), follow=True)

    assert request_url(customer) not in page.text
    assert "Customer OPTOUT opted out of our emails." in response.text
    assert not ReasonRequest.objects.exists()
    assert mailoutbox == []


def test_it_sends_nothing_on_get(client_as, mailoutbox):
    customer = CustomerFactory()

    response = client_as("admin").get(request_url(customer))

    assert response.status_code == 405
    assert not ReasonRequest.objects.exists()
    assert mailoutbox == []


def test_it_rejects_a_viewer_asking_the_customer(client_as, mailoutbox):
    customer = CustomerFactory()

    response = client_as("viewer").post(request_url(customer))

    assert response.status_code == 403
    assert not ReasonRequest.objects.exists()


def test_it_keeps_customers_untouched_on_get(client_as):
    customer = CustomerFactory()
    before = Customer.objects.values().get(pk=customer.pk)

    client_as("admin").get(detail_url(customer))

    assert Customer.objects.values().get(pk=customer.pk) == before
