"""Regressions of the security audit's fixes in the accounting app: admin pages that do not tell
who answered an anonymous survey, a revert that keeps a slug in use, and the /why/ pages counted
in the public token pages' rate limit."""

import re

import pytest
from django.urls import reverse

from accounting.models import Customer, ReasonCategory, ReasonKind
from surveys.models import InvitationState
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def answered_and_invited():
    """Two customers invited to an anonymous survey: one answered, one did not."""
    survey = SurveyFactory(name="Staff pulse", anonymous=True)
    answered = CustomerFactory(external_id="ANSWERED", name="Ann Answered")
    invited = CustomerFactory(external_id="INVITED", name="Ian Invited")
    ResponseFactory(invitation=InvitationFactory(survey=survey, customer=answered, state=InvitationState.RESPONDED),
                    score=2, reason="The manager shouts")
    InvitationFactory(survey=survey, customer=invited)
    return answered, invited


def _content(page, customer: Customer) -> str:
    """The page's own text (not the admin's menu), the customer's name and id taken out."""
    html = page.content.decode()
    start = html.index('<div id="content"')
    text = " ".join(re.sub(r"<[^>]+>", " ", html[start:]).split())
    for value in (customer.name, customer.external_id, str(customer)):
        text = text.replace(value, "CUSTOMER")
    return text


# --- Deleting a customer in the admin ------------------------------------------------------------


def delete_page(client, customer):
    return client.get(reverse("admin:accounting_customer_delete", args=[customer.pk]))


def bulk_delete_confirmation(client, customer):
    return client.post(reverse("admin:accounting_customer_changelist"),
                       {"action": "delete_selected", "_selected_action": [customer.pk]})


@pytest.mark.parametrize("open_page", [delete_page, bulk_delete_confirmation])
def test_the_delete_confirmation_of_a_customer_who_answered_reads_as_that_of_one_only_invited(
    admin_client, answered_and_invited, open_page
):
    pages = [open_page(admin_client, customer) for customer in answered_and_invited]

    assert all(page.status_code == 200 for page in pages)
    lacking = [page.context["perms_lacking"] for page in pages]
    assert lacking[0] == lacking[1] == {"survey invitations and their answers"}
    texts = [_content(page, customer) for page, customer in zip(pages, answered_and_invited, strict=True)]
    assert texts[0] == texts[1]
    assert "response" not in texts[0].lower()
    assert Customer.objects.filter(pk__in=[c.pk for c in answered_and_invited]).count() == 2


# --- The "other" answers admin -------------------------------------------------------------------


@pytest.mark.parametrize("lookup", ["survey_responses", "survey_responses__id__exact"])
def test_the_other_answers_admin_refuses_a_lookup_that_leads_from_an_anonymous_answer_to_its_customer(
    admin_client, lookup
):
    survey = SurveyFactory(name="Staff pulse", anonymous=True)
    who = CustomerFactory(external_id="WHO", name="Wendy Who", reason=reason("other"), reason_text="a blog")
    CustomerFactory(external_id="NOT", name="Nat Not", reason=reason("other"), reason_text="the radio")
    answer = ResponseFactory(invitation=InvitationFactory(survey=survey, customer=who, state=InvitationState.RESPONDED),
                             score=1, reason="Awful service")
    query = {lookup: answer.pk}
    listing_url = reverse("admin:accounting_otherreasonanswer_changelist")

    refused = admin_client.get(listing_url, query)
    as_customers = admin_client.get(reverse("admin:accounting_customer_changelist"), query)
    declared = admin_client.get(listing_url, {"mapped": "no", "segment": "SMB", "q": "blog"})

    assert refused.status_code == as_customers.status_code == 400
    assert "Wendy Who" not in refused.text and "WHO" not in refused.text
    assert declared.status_code == 200 and "Wendy Who" in declared.text  # its own filters still work


# --- Reverting a reason category ----------------------------------------------------------------


def test_reverting_a_category_whose_slug_is_in_use_keeps_its_slug(admin_client):
    category = ReasonCategory.objects.create(label="Podcast", slug="podcast", kind=ReasonKind.EARNED, order=50)
    before = category.history.earliest()
    category.label, category.slug = "Podcast ads", "podcast-ads"
    category.save()
    CustomerFactory(reason=category)  # in use: its slug is read-only in the admin
    change = admin_client.get(reverse("admin:accounting_reasoncategory_change", args=[category.pk]))
    assert 'name="slug"' not in change.text
    data = {"label": "Podcast", "kind": "earned", "is_active": "on", "order": 50}  # the form has no slug

    response = admin_client.post(
        reverse("admin:accounting_reasoncategory_simple_history", args=[category.pk, before.history_id]), data
    )

    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.label, category.slug) == ("Podcast", "podcast-ads")  # reverted, the slug kept


# --- /why/<token>/ and the public rate limit -----------------------------------------------------


@pytest.fixture
def rate_of_three(settings, fresh_rate_limits):
    settings.SURVEY_PUBLIC_RATE = "3/m"  # counters at zero before and after, as fresh_rate_limits leaves them


@pytest.fixture
def reason_token(rate_of_three):
    from accounting.services import reason_request_create

    return reason_request_create(customer=CustomerFactory(language="en")).token


def _why(token: str) -> str:
    return reverse("reason-answer", args=[token])


def _survey_page(token: str) -> str:
    return reverse("survey-answer", args=[token])


def test_the_why_page_is_rate_limited_per_address(client, reason_token):
    opened = [client.get(_why(reason_token)).status_code for _ in range(3)]
    guessed = client.get(_why("guessed-token-0001"))
    answered = client.post(_why(reason_token), {"reason": reason("recommendation").pk, "reason_text": ""})
    elsewhere = client.get(_why(reason_token), REMOTE_ADDR="203.0.113.9")

    assert opened == [200, 200, 200]
    assert guessed.status_code == 429
    assert answered.status_code == 429
    assert guessed["Retry-After"] == "60"
    assert "no-store" in guessed["Cache-Control"]
    assert Customer.objects.filter(reason__isnull=False).count() == 0  # the refused answer was not kept
    assert elsewhere.status_code == 200  # another address has its own budget


@pytest.mark.parametrize("first, then", [(_survey_page, _why), (_why, _survey_page)])
def test_the_why_page_shares_the_budget_of_the_survey_pages(client, reason_token, first, then):
    served = [client.get(first(f"guessed-token-{i:04d}")).status_code for i in range(3)]

    over = client.get(then(reason_token))

    assert served == [404, 404, 404]
    assert over.status_code == 429
    assert over["Retry-After"] == "60"
