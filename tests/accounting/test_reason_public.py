"""The public "why did you choose us?" page, /why/<token>/, reached from the emailed link."""

import datetime as dt
import re
import secrets

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounting.models import ReasonCategory, ReasonRequest
from accounting.services import reason_request_create
from tests.factories import CustomerFactory, reason

QUESTION = "What is the primary reason you chose us?"


@pytest.fixture
def customer(db):
    return CustomerFactory(language="en")


@pytest.fixture
def token(customer):
    return reason_request_create(customer=customer).token


def url(token):
    return reverse("reason-answer", args=[token])


def answer(client, token, category, text=""):
    return client.post(url(token), {"reason": category.pk, "reason_text": text})


def radio_values(html):
    return [int(v) for v in re.findall(r'<input type="radio" name="reason" value="(\d+)"', html)]


def assert_private(response):
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex' in response.text


# --- Reading the page -------------------------------------------------------------------------


def test_the_link_in_the_email_is_the_answer_page(token):
    assert url(token) == f"/why/{token}/"


def test_a_get_shows_the_question_and_changes_nothing(client, customer, token):
    response = client.get(url(token))

    assert response.status_code == 200
    assert QUESTION in response.text
    assert "<fieldset" in response.text and "<legend>" in response.text
    customer.refresh_from_db()
    assert customer.reason is None
    assert customer.reason_answered_at is None
    assert ReasonRequest.objects.get(customer=customer).answered_at is None


def test_repeated_gets_like_a_mail_scanner_change_nothing(client, customer, token):
    for _ in range(3):
        assert client.get(url(token)).status_code == 200
        assert client.head(url(token)).status_code == 200

    assert ReasonRequest.objects.get(customer=customer).answered_at is None


def test_it_lists_the_active_categories_in_order(client, token):
    advertising = reason("advertising")
    advertising.is_active = False
    advertising.save()
    returning = reason("returning")
    returning.order = 1
    returning.save()

    response = client.get(url(token))

    expected = list(
        ReasonCategory.objects.filter(is_active=True)
        .order_by("order", "label")
        .values_list("pk", flat=True)
    )
    assert radio_values(response.text) == expected
    assert expected[0] == returning.pk
    assert advertising.pk not in radio_values(response.text)


def test_every_choice_and_the_other_text_box_have_a_label(client, token):
    html = client.get(url(token)).text

    ids = re.findall(r'<input type="radio" name="reason" value="\d+"[^>]* id="([^"]+)"', html)
    assert ids
    for input_id in [*ids, "id_reason_text"]:
        assert f'<label for="{input_id}"' in html
    assert 'name="reason_text"' in html


def test_the_page_speaks_the_customers_language(client, db):
    french = CustomerFactory(language="fr")
    token = reason_request_create(customer=french).token

    response = client.get(url(token), HTTP_ACCEPT_LANGUAGE="de")

    assert '<html lang="fr">' in response.text
    assert response["Content-Language"] == "fr"


@pytest.mark.parametrize(("language", "choices"), [
    ("de", ["Empfehlung von Freunden, Familie oder Kollegen", "Guter Ruf, Bewertungen, Mundpropaganda",
            "Ich war schon früher Kunde", "Eine hilfsbereite Beratung im Verkauf", "Werbung",
            "Sonder- oder Aktionspreise", "Sonstiges"]),
    ("fr", ["Recommandé par un ami, un proche ou un collègue", "Bonne réputation, avis, bouche-à-oreille",
            "Ancien client de retour", "Un vendeur serviable", "Publicité", "Prix spécial ou promotionnel",
            "Autre"]),
])
def test_the_seeded_choices_are_in_the_customers_language(client, db, language, choices):
    # They were in English on German and French pages: the catalogues lacked the seeded labels.
    token = reason_request_create(customer=CustomerFactory(language=language)).token

    html = client.get(url(token)).text

    labels = re.findall(r'<label for="id_reason_\d+">(?:<input[^>]*>)?\s*(.*?)\s*</label>', html, re.S)
    assert [re.sub(r"<[^>]+>", "", label).strip() for label in labels] == choices


def test_a_category_label_an_admin_edited_is_shown_as_written(client, db):
    advertising = reason("advertising")
    advertising.label = "Our radio spots"
    advertising.save()
    token = reason_request_create(customer=CustomerFactory(language="de")).token

    assert "Our radio spots" in client.get(url(token)).text


def test_the_form_page_is_kept_private(client, token):
    assert_private(client.get(url(token)))


# --- Answering ------------------------------------------------------------------------------------


def test_a_post_stores_the_answer_and_redirects_to_a_thank_you_get(client, customer, token):
    # It answered 200 with the thank-you page: a reload posted the form again.
    response = answer(client, token, reason("recommendation"))

    assert response.status_code == 303
    assert response["Location"] == f"{url(token)}?thanks=recorded"
    assert response["Referrer-Policy"] == "same-origin" and "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "Thank you" in thanks.text and "<form" not in thanks.text
    assert_private(thanks)
    customer.refresh_from_db()
    assert customer.reason == reason("recommendation")
    assert customer.reason_source == "email"
    assert customer.reason_answered_at is not None
    assert ReasonRequest.objects.get(customer=customer).answered_at is not None


def test_the_thank_you_page_speaks_the_customers_language(client, db):
    token = reason_request_create(customer=CustomerFactory(language="fr")).token

    response = client.post(url(token), {"reason": reason("recommendation").pk}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="de")

    assert response.redirect_chain == [(f"{url(token)}?thanks=recorded", 303)]
    assert '<html lang="fr">' in response.text and response["Content-Language"] == "fr"


def test_the_thank_you_address_of_a_link_not_answered_shows_the_form(client, customer, token):
    response = client.get(f"{url(token)}?thanks=recorded")

    assert response.status_code == 200
    assert QUESTION in response.text and "Thank you" not in response.text
    assert ReasonRequest.objects.get(customer=customer).answered_at is None


def test_the_thank_you_address_of_an_expired_link_says_it_expired(client, customer, token):
    later = ReasonRequest.objects.get(customer=customer).expires_at + dt.timedelta(minutes=1)

    with time_machine.travel(later, tick=False):
        response = client.get(f"{url(token)}?thanks=recorded")

    assert response.status_code == 410


def test_a_second_post_gets_the_already_answered_page_and_changes_nothing(client, customer, token):
    answer(client, token, reason("recommendation"))

    response = answer(client, token, reason("advertising"))

    assert response.status_code == 200
    assert "already answered" in response.text
    assert_private(response)
    customer.refresh_from_db()
    assert customer.reason == reason("recommendation")


def test_an_answered_link_opened_again_says_it_is_already_answered(client, token):
    answer(client, token, reason("reputation"))

    response = client.get(url(token))

    assert response.status_code == 200
    assert "already answered" in response.text
    assert "<form" not in response.text
    assert_private(response)


def test_other_needs_its_text(client, customer, token):
    response = answer(client, token, reason("other"), text="   ")

    assert response.status_code == 400
    assert QUESTION in response.text
    assert "Please tell us what the other reason is." in response.text
    customer.refresh_from_db()
    assert customer.reason is None
    assert ReasonRequest.objects.get(customer=customer).answered_at is None


def test_other_with_its_text_is_stored(client, customer, token):
    response = answer(client, token, reason("other"), text="  Saw your stand at a fair  ")

    assert response.status_code == 303
    customer.refresh_from_db()
    assert customer.reason == reason("other")
    assert customer.reason_text == "Saw your stand at a fair"


def test_a_post_without_a_choice_shows_the_form_again(client, customer, token):
    response = client.post(url(token), {})

    assert response.status_code == 400
    assert "Please choose one reason." in response.text
    customer.refresh_from_db()
    assert customer.reason is None


def test_an_inactive_category_is_refused(client, customer, token):
    advertising = reason("advertising")
    advertising.is_active = False
    advertising.save()

    response = answer(client, token, advertising)

    assert response.status_code == 400
    assert "Please choose one of the listed reasons." in response.text
    customer.refresh_from_db()
    assert customer.reason is None
    assert ReasonRequest.objects.get(customer=customer).answered_at is None


def test_a_post_without_the_csrf_token_is_refused(customer, token):
    client = Client(enforce_csrf_checks=True)

    response = answer(client, token, reason("recommendation"))

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.reason is None


def test_the_form_carries_a_csrf_token(client, token):
    assert 'name="csrfmiddlewaretoken"' in client.get(url(token)).text


def test_other_methods_are_not_allowed(client, token):
    assert client.put(url(token)).status_code == 405
    assert client.delete(url(token)).status_code == 405


# --- Expired, unknown and malformed links ---------------------------------------------------------


def test_an_expired_link_gets_410_and_stores_nothing(client, customer, token):
    request = ReasonRequest.objects.get(customer=customer)
    later = request.expires_at + dt.timedelta(minutes=1)

    with time_machine.travel(later, tick=False):
        page = client.get(url(token))
        post = answer(client, token, reason("recommendation"))

    for response in (page, post):
        assert response.status_code == 410
        assert "This link has expired" in response.text
        assert_private(response)
    customer.refresh_from_db()
    assert customer.reason is None


def test_a_link_is_open_until_just_before_it_expires(client, customer, token):
    ReasonRequest.objects.filter(customer=customer).update(
        expires_at=timezone.now() + dt.timedelta(minutes=1)
    )

    assert client.get(url(token)).status_code == 200


@pytest.mark.parametrize(
    "bad_token",
    [
        "not-a-token",
        "x",
        "A" * 43,
        "a" * 101,
        "a" * 2000,
        "%00%ff",
        "é-ü",
        "' OR 1=1 --",
    ],
)
def test_unknown_and_malformed_tokens_get_the_same_404(client, token, bad_token):
    unknown = secrets.token_urlsafe(32)  # well formed, never issued

    reference = client.get(url(unknown))
    response = client.get(f"/why/{bad_token}/")

    assert reference.status_code == response.status_code == 404
    assert response.content == reference.content
    assert token not in response.text
    assert_private(response)


def test_a_post_to_an_unknown_token_gets_the_same_404(client, db):
    get = client.get("/why/unknown-token/")
    post = client.post("/why/unknown-token/", {"reason": reason("recommendation").pk})

    assert post.status_code == 404
    assert post.content == get.content
