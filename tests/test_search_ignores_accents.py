"""Staff searches ignore accents as well as case (cxplatform/text_search.py `ifind`), on SQLite and
PostgreSQL alike: the staff customer list and responses pages, the API's `?search=` and the Django
admin's search boxes. Customers are typed without accents ("Muller" for "Müller")."""

import unicodedata
from collections import defaultdict

import pytest
from django.db import connection
from django.urls import reverse

from accounting.models import Customer, ReasonCategory, ReasonKind
from cxplatform.text_search import fold, folded_contains
from tests.factories import CustomerFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's unaccent")

FOUND = [
    ("L'Équipe", "equipe"), ("Jürgen Müller", "muller"), ("muller", "MÜLLER"), ("São Paulo", "sao"),
    ("Øresund", "oresund"), ("Æble", "AEBLE"), ("Straße", "strasse"), ("Łódź", "lodz"), ("Đorđe", "dorde"),
    ("Œuvre", "oeuvre"), ("İstanbul", "istanbul"), ("Cafe\u0301 Noir", "café"), ("Phở Hà Nội", "pho ha noi"),
    ("Αθήνα", "ΑΘΗΝΑ"), ("Ёлка", "елка"), ("ÉCOLE", "école"),
]
NOT_FOUND = [
    ("Андрей", "андреи"),  # й is a letter of its own, not и with an accent (unaccent keeps it)
    ("Київ", "киів"),
    ("하나", "한"),  # Hangul syllables are not compared jamo by jamo
    ("か", "が"), ("が", "か"),  # nor kana with their voicing mark
    ("Muller", "mueller"),  # no transliteration: ü is u, not ue
]

# Latin-1 Supplement and Latin Extended-A, Vietnamese, modern Greek, Cyrillic: what the module's
# docstring says the two databases agree on.
AGREED = [
    chr(code) for first, last in [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x17F), (0x1EA0, 0x1EF9), (0x386, 0x3CE),
                                  (0x400, 0x45F)]
    for code in range(first, last + 1) if unicodedata.category(chr(code)).startswith("L")
]


# --- fold, the SQLite side ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "search"), FOUND)
def test_the_folded_search_finds_a_text_written_with_accents(text, search):
    assert folded_contains(text, search)


@pytest.mark.parametrize(("text", "search"), NOT_FOUND)
def test_the_folded_search_keeps_letters_that_are_not_accented_ones(text, search):
    assert not folded_contains(text, search)


@pytest.mark.parametrize("text", ["Acme GmbH", "a_b 100%", "", "Z"])
def test_an_ascii_text_folds_as_its_lower_case(text):
    assert fold(text) == text.lower() == text.casefold()


def test_a_combining_accent_written_apart_goes_whatever_letter_it_follows():
    """Character by character, as unaccent goes: an id or a name from a macOS export (NFD)."""
    assert fold("Cafe\u0301") == fold("Café") == "cafe"
    assert fold("и\u0306") == "и"  # unaccent drops the breve written apart too
    assert fold("й") == "й"


def test_folding_a_folded_text_changes_nothing():
    """fold() replaces each distinct character by its folding, in no particular order."""
    text = "".join(AGREED) + "Straße İstanbul ǅ Ǿ ﬁ 한국어 が ΟΔΟΣ"
    assert fold(fold(text)) == fold(text)


def test_the_folded_search_is_null_when_a_side_is():
    assert folded_contains(None, "a") is None
    assert folded_contains("a", None) is None


def test_the_documented_differences_of_the_sqlite_side():
    """NFKD's compatibility forms: superscripts are digits, ligatures letters; punctuation is kept."""
    assert fold("m²") == "m2"
    assert fold("ﬁne") == "fine"
    assert fold("L’Équipe") == "l’equipe"  # PostgreSQL's unaccent writes ’ as '


# --- ifind through the ORM, on whichever database runs -------------------------------------------


def _names(**lookup) -> set[str]:
    return set(Customer.objects.filter(**lookup).values_list("name", flat=True))


def test_ifind_folds_accents_and_case_on_both_sides():
    texts = [text for text, _ in FOUND] + [text for text, _ in NOT_FOUND]
    for text in texts:
        CustomerFactory(name=text)

    for text, search in FOUND:
        assert text in _names(name__ifind=search), (text, search)
    for text, search in NOT_FOUND:
        assert text not in _names(name__ifind=search), (text, search)


@pytest.mark.parametrize(("term", "expected"), [("0％", {"100% Bio"}), ("a＿b", {"a_b GmbH"}), ("é%", set())])
def test_ifind_takes_a_full_width_percent_or_underscore_literally_too(term, expected):
    """unaccent writes "％" as "%": escaped before UNACCENT(), it was a wildcard on PostgreSQL."""
    for name in ("100% Bio", "1000 Bio", "a_b GmbH", "axb GmbH", "écrit"):
        CustomerFactory(name=name)

    assert _names(name__ifind=term) == expected


@on_postgresql
def test_ifind_on_postgresql_is_icontains_of_both_sides_unaccented():
    """UPPER(UNACCENT(col)) LIKE '%' || UPPER(UNACCENT(search) escaped) || '%': the LIKE of icontains."""
    sql, params = Customer.objects.filter(name__ifind="Müller").query.sql_with_params()

    assert "WHERE UPPER(UNACCENT(\"accounting_customer\".\"name\")::text) LIKE '%%' || UPPER(REPLACE(" in sql
    assert "(UNACCENT(%s))" in sql
    assert params == ("Müller",)  # the wildcards are the SQL's, the search escaped there


@on_postgresql
def test_sqlite_folds_these_letters_as_postgresql_does():
    """Two letters are the same to the SQLite search exactly when they are to PostgreSQL's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT letter, UPPER(UNACCENT(letter)) FROM unnest(%s::text[]) AS letter", [AGREED])
        by_postgresql = dict(cursor.fetchall())

    def groups(key):
        same = defaultdict(set)
        for letter in AGREED:
            same[key(letter)].add(letter)
        return {frozenset(group) for group in same.values()}

    assert groups(fold) == groups(by_postgresql.get)


@on_postgresql
def test_the_typographic_apostrophe_is_the_documented_difference():
    with connection.cursor() as cursor:
        cursor.execute("SELECT UNACCENT(%s)", ["L’Équipe"])
        assert cursor.fetchone() == ("L'Equipe",)


# --- Every staff search box ----------------------------------------------------------------------


@pytest.fixture
def customers():
    return {
        "mueller": CustomerFactory(external_id="C-1", name="Jürgen Müller", email="j@grün.example"),
        "sao": CustomerFactory(external_id="C-2", name="Loja São João", email="loja@example.br"),
        "oresund": CustomerFactory(external_id="C-3", name="Øresund Bryg", email="info@example.dk"),
        "plain": CustomerFactory(external_id="C-4", name="Plain Ltd", email="plain@example.com"),
    }


@pytest.fixture
def answers():
    return {
        "equipe": ResponseFactory(reason="L'Équipe était super"),
        "strasse": ResponseFactory(suggestion="Lieferung in die Straße"),
        "plain": ResponseFactory(reason="Fine", suggestion="Nothing"),
    }


@pytest.mark.parametrize(
    ("term", "expected"),
    [("muller", {"mueller"}), ("MÜLLER", {"mueller"}), ("sao joao", {"sao"}), ("oresund", {"oresund"}),
     ("grun.example", {"mueller"}), ("plain", {"plain"}), ("C-3", {"oresund"})],
)
def test_the_customer_list_ignores_accents(client_as, customers, term, expected):
    page = client_as("analyst").get(reverse("accounting:customer-list"), {"q": term})

    assert {c.pk for c in page.context["page_obj"]} == {customers[k].pk for k in expected}


@pytest.mark.parametrize(
    ("term", "expected"), [("equipe", {"equipe"}), ("ETAIT", {"equipe"}), ("strasse", {"strasse"}), ("fine", {"plain"})]
)
def test_the_responses_page_ignores_accents(client_as, answers, term, expected):
    page = client_as("analyst").get(reverse("surveys:response-list"), {"q": term})

    assert {r.pk for r in page.context["page_obj"].object_list} == {answers[k].pk for k in expected}


def _api_ids(api, url, term) -> set[int]:
    response = api.get(url, {"search": term})
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


@pytest.mark.parametrize(
    ("term", "expected"), [("muller", {"mueller"}), ("sao", {"sao"}), ("grun", {"mueller"}), ("C-4", {"plain"})]
)
def test_the_api_customer_search_ignores_accents(api_client_as, customers, term, expected):
    found = _api_ids(api_client_as("analyst"), reverse("api-customer-list"), term)

    assert found == {customers[k].pk for k in expected}


@pytest.mark.parametrize(("term", "expected"), [("equipe", {"equipe"}), ("STRASSE", {"strasse"})])
def test_the_api_response_search_ignores_accents(api_client_as, answers, term, expected):
    found = _api_ids(api_client_as("analyst"), reverse("api-response-list"), term)

    assert found == {answers[k].pk for k in expected}


def test_the_api_survey_search_ignores_accents(api_client_as):
    survey = SurveyFactory(name="Qualité après-vente")
    SurveyFactory(name="Onboarding")

    assert _api_ids(api_client_as("analyst"), reverse("api-survey-list"), "qualite apres") == {survey.pk}


def _admin_listed(page) -> set[int]:
    assert page.status_code == 200
    return {row.pk for row in page.context["cl"].result_list}


@pytest.mark.parametrize(("term", "expected"), [("muller", {"mueller"}), ("OERESUND", set()), ("oresund", {"oresund"})])
def test_the_admin_customer_search_ignores_accents(client_as, customers, term, expected):
    page = client_as("admin").get(reverse("admin:accounting_customer_changelist"), {"q": term})

    assert _admin_listed(page) == {customers[k].pk for k in expected}


def test_the_admin_response_search_ignores_accents(client_as, answers):
    page = client_as("admin").get(reverse("admin:surveys_response_changelist"), {"q": "equipe"})

    assert _admin_listed(page) == {answers["equipe"].pk}


def test_the_admin_reason_category_search_ignores_accents(client_as):
    category = ReasonCategory.objects.create(label="Salon à Zürich", slug="trade-fair", kind=ReasonKind.BOUGHT)

    page = client_as("admin").get(reverse("admin:accounting_reasoncategory_changelist"), {"q": "zurich"})

    assert _admin_listed(page) == {category.pk}
