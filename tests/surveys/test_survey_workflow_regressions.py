"""The survey workflow as an analyst runs it in the staff UI: the smallest sample, searches that
ignore the case of every letter (SQLite and PostgreSQL), the list's progress, the edit page's
locked settings and the reminders sent."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F
from django.urls import reverse

from accounting.models import Customer
from reports.integrity import integrity_flags
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.models import (
    ANONYMITY_LOCKED,
    KIND_LOCKED,
    AudienceKind,
    InvitationState,
    ResponseSource,
    Survey,
    SurveyKind,
)
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory
from tests.form_data import survey_form_data

pytestmark = pytest.mark.django_db


def _form_data(survey, **changes):
    """The edit form's fields for `survey`, with `changes`."""
    return survey_form_data(**{"name": survey.name, "kind": survey.kind, "status": survey.status, **changes})


# --- The smallest sample -------------------------------------------------------------------------


def test_the_survey_form_accepts_the_smallest_sample_it_advertises(client_as):
    """surveys/models.py Survey.sample_percent: MinValueValidator(0.01) compared the Decimal with the
    float 0.01 (0.01000000000000000020…), so the form (and the admin) refused Decimal("0.01") with
    "Ensure this value is greater than or equal to 0.01."."""
    response = client_as("analyst").post(
        reverse("surveys:survey-create"), survey_form_data(audience="sample", sample_percent="0.01")
    )
    errors = response.context["form"].errors if response.status_code == 400 else {}
    assert response.status_code == 302, errors
    survey = Survey.objects.get(name="Pulse")
    assert (survey.audience, survey.sample_percent) == (AudienceKind.SAMPLE, Decimal("0.01"))


@pytest.mark.parametrize("percent", ["0.01", "100", "100.00"])
def test_the_sample_bounds_take_their_own_values(percent):
    Survey._meta.get_field("sample_percent").run_validators(Decimal(percent))


@pytest.mark.parametrize("percent", ["0.00", "100.01"])
def test_the_sample_bounds_refuse_what_lies_outside(percent):
    with pytest.raises(ValidationError):
        Survey._meta.get_field("sample_percent").run_validators(Decimal(percent))


# --- Searches ignore the case of every letter --------------------------------------------------------


def test_response_search_ignores_the_case_of_accented_letters(client_as):
    """surveys/selectors.py response_list: `icontains` is SQLite's LIKE, which folds ASCII only:
    "équipe" did not find "L'Équipe", nor "ÜBER" "über" (PostgreSQL's UPPER() LIKE UPPER() did)."""
    french = ResponseFactory(reason="L'Équipe était super")
    german = ResponseFactory(suggestion="Alles über Preise")
    ResponseFactory(reason="Rien à signaler", suggestion="Nichts")
    client = client_as("analyst")

    def found(q):
        page = client.get(reverse("surveys:response-list"), {"q": q})
        return {r.pk for r in page.context["page_obj"].object_list}

    assert found("équipe") == {french.pk}
    assert found("ÉTAIT") == {french.pk}
    assert found("ÜBER") == {german.pk}
    assert found("PREISE") == {german.pk}


@pytest.mark.parametrize(
    ("term", "expected"),
    [("élodie", ["C-ELODIE"]), ("ÉLODIE", ["C-ELODIE"]), ("MÜLLER", ["C-MUELLER"]), ("GRÜN.EXAMPLE", ["C-MUELLER"]),
     ("größe", ["C-GROESSE"])],
)
def test_the_customer_search_ignores_the_case_of_accented_letters(client_as, term, expected):
    """accounting/selectors.py customer_list: the same LIKE on SQLite missed "MÜLLER" for "Müller"."""
    CustomerFactory(external_id="C-ELODIE", name="Élodie Marchand", email="elodie@example.com")
    CustomerFactory(external_id="C-MUELLER", name="Jürgen Müller", email="j@grün.example")
    CustomerFactory(external_id="C-GROESSE", name="Größe & Co", email="info@example.de")

    response = client_as("analyst").get(reverse("accounting:customer-list"), {"q": term})

    assert [c.external_id for c in response.context["page_obj"]] == expected


@pytest.mark.parametrize(("term", "expected"), [("0%", {"100% Bio"}), ("a_b", {"a_b GmbH"}), ("", None)])
def test_ifind_takes_percent_and_underscore_literally(term, expected):
    names = {"100% Bio", "1000 Bio", "a_b GmbH", "axb GmbH"}
    for name in names:
        CustomerFactory(name=name)

    found = set(Customer.objects.filter(name__ifind=term).values_list("name", flat=True))

    assert found == (names if expected is None else expected)


def test_ifind_compares_with_another_column():
    CustomerFactory(name="ÉCOLE Lumière", segment="école")
    CustomerFactory(name="Collège", segment="école")

    found = Customer.objects.filter(name__ifind=F("segment"))

    assert list(found.values_list("name", flat=True)) == ["ÉCOLE Lumière"]


def test_the_solicited_scores_flag_reads_verbatims_written_in_capitals():
    """reports/integrity.py: the hints narrowing the verbatims read used icontains too, so on SQLite a
    shouted "GEDRÄNGT" or "PRIÉ" was never read, though the regex would have matched it."""
    when = dt.datetime(2025, 6, 10, tzinfo=dt.UTC)
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    texts = ["DER VERKÄUFER HAT MICH GEDRÄNGT, EINE 10 ZU GEBEN", "ON M'A PRIÉ DE METTRE 10"]
    for text in texts:
        invitation = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, sent_at=when)
        ResponseFactory(invitation=invitation, score=10, answered_at=when, reason=text)

    flags = {flag.code: flag for flag in integrity_flags(nps_report(period=parse_period("2025-Q2")))}

    assert flags["solicited_scores"].detail.startswith("2 verbatim(s)"), flags["solicited_scores"].detail


# --- The survey list's progress ------------------------------------------------------------------


def _list_row(html: str, name: str) -> dict[str, str]:
    """The survey's row of the list, as {column header: cell text}."""
    header = re.search(r"<thead>.*?</thead>", html, re.S).group(0)
    columns = [re.sub(r"<[^>]+>", "", th).strip() for th in re.findall(r"<th[^>]*>(.*?)</th>", header, re.S)]
    row = re.search(rf"<tr>\s*<td><a href=\"[^\"]*\">{name}</a>.*?</tr>", html, re.S).group(0)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", td)).strip()
             for td in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return dict(zip(columns, cells, strict=True))


def test_the_survey_list_shows_suppressed_by_reason_sent_and_expired(client_as):
    """README "Staff": the list shows "suppressed by reason, queued, sent, bounced, failed, expired";
    it showed one Suppressed total and Delivered (sent + responded + expired) only."""
    survey = SurveyFactory(name="Quarterly NPS")
    for _ in range(3):
        InvitationFactory(survey=survey, state=InvitationState.EXPIRED)
    InvitationFactory.create_batch(4, survey=survey)  # sent
    InvitationFactory(survey=survey, state=InvitationState.SUPPRESSED, suppression_reason="opted_out")
    for _ in range(2):
        InvitationFactory(survey=survey, state=InvitationState.SUPPRESSED, suppression_reason="throttled")
    ResponseFactory(invitation__survey=survey)

    html = client_as("analyst").get(reverse("surveys:survey-list")).content.decode()
    row = _list_row(html, "Quarterly NPS")

    assert row["Sent"] == "4" and row["Expired"] == "3" and row["Responded"] == "1" and row["Delivered"] == "8"
    assert row["Suppressed"] == "3 Opted out: 1 Throttled (surveyed recently): 2", row
    assert row["Response rate"] == "12.5 %"


def test_a_survey_without_suppressions_shows_a_plain_zero(client_as):
    SurveyFactory(name="Fresh")

    row = _list_row(client_as("analyst").get(reverse("surveys:survey-list")).content.decode(), "Fresh")

    assert row["Suppressed"] == "0" and row["Sent"] == "0" and row["Expired"] == "0"


# --- The edit page's locked settings -------------------------------------------------------------


def _control(html: str, name: str) -> str:
    return re.search(rf'<(select|input type="checkbox") name="{name}"[^>]*>', html).group(0)


def test_the_edit_page_shows_kind_and_anonymity_as_locked_once_customers_were_invited(client_as):
    """surveys/forms.py SurveyForm: the edit page offered both as editable controls with no word of
    the lock; the analyst learnt of it only from an error after submitting."""
    survey = SurveyFactory(anonymous=True)
    InvitationFactory(survey=survey)

    html = client_as("analyst").get(reverse("surveys:survey-edit", args=[survey.pk])).content.decode()

    assert "disabled" in _control(html, "kind") and "disabled" in _control(html, "anonymous")
    assert KIND_LOCKED in html and ANONYMITY_LOCKED in html


def test_a_survey_nobody_was_invited_to_may_change_its_kind_and_anonymity(client_as):
    survey = SurveyFactory()

    html = client_as("analyst").get(reverse("surveys:survey-edit", args=[survey.pk])).content.decode()

    assert "disabled" not in _control(html, "kind") and "disabled" not in _control(html, "anonymous")


def test_holding_imported_answers_locks_anonymity_with_its_reason(client_as):
    survey = SurveyFactory(anonymous=False)
    ResponseFactory(invitation__survey=survey, source=ResponseSource.IMPORT)

    html = client_as("analyst").get(reverse("surveys:survey-edit", args=[survey.pk])).content.decode()

    assert "disabled" in _control(html, "anonymous")
    assert "holds imported answers that name their customers" in html


def test_a_locked_kind_keeps_its_value_whatever_is_posted(client_as):
    """A browser posts no disabled control; a hand-made post naming another kind changes nothing."""
    survey = SurveyFactory(kind=SurveyKind.RELATIONSHIP)
    InvitationFactory(survey=survey)

    response = client_as("analyst").post(
        reverse("surveys:survey-edit", args=[survey.pk]),
        _form_data(survey, kind=SurveyKind.TRANSACTIONAL, question="New wording {company}?"),
    )

    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.kind, survey.question) == (SurveyKind.RELATIONSHIP, "New wording {company}?")


# --- Reminders -----------------------------------------------------------------------------------

REMINDED_AT = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)


def _remind(survey):
    """Two reminded invitations (one answered since) and one not reminded."""
    InvitationFactory(survey=survey, reminder_sent_at=REMINDED_AT)
    answered = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, reminder_sent_at=REMINDED_AT)
    ResponseFactory(invitation=answered)
    InvitationFactory(survey=survey)


def _progress_value(html: str, term: str) -> str:
    return re.search(rf"<dt>{term}</dt><dd>(.*?)</dd>", html, re.S).group(1)


def test_the_survey_page_counts_the_reminders_and_dates_each(client_as, settings):
    settings.TIME_ZONE = "UTC"
    survey = SurveyFactory(reminder_days=3)
    _remind(survey)

    html = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()

    assert _progress_value(html, "Reminders sent") == "2"
    assert "<th scope=\"col\">Reminded at</th>" in html
    assert html.count("<td>2026-03-04 05:06</td>") == 2


def test_an_anonymous_survey_counts_its_reminders_but_dates_none(client_as, settings):
    settings.TIME_ZONE = "UTC"
    survey = SurveyFactory(reminder_days=3, anonymous=True)
    _remind(survey)

    html = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()

    assert _progress_value(html, "Reminders sent") == "2"
    assert "2026-03-04" not in html and "Reminded at" not in html


# --- A survey deleted while the staff page launches it -------------------------------------------


@pytest.fixture
def deleted_after_read(monkeypatch):
    """An admin's delete commits between the page's read of the survey and the service's row lock
    (on PostgreSQL the launch waits on the delete's FOR UPDATE, then finds no row)."""
    from surveys import selectors

    real = selectors.access_survey

    def read_then_deleted(*args, **kwargs):
        survey = real(*args, **kwargs)
        Survey.objects.filter(pk=survey.pk).delete()
        return survey

    monkeypatch.setattr(selectors, "access_survey", read_then_deleted)


@pytest.mark.parametrize("action", ["surveys:survey-launch", "surveys:survey-retry-failed"])
def test_launching_or_retrying_a_survey_deleted_meanwhile_is_a_404_not_a_500(client_as, deleted_after_read, action):
    CustomerFactory()
    survey = SurveyFactory()
    client = client_as("analyst")
    client.raise_request_exception = False

    response = client.post(reverse(action, args=[survey.pk]), {"confirm": "on"})

    assert response.status_code == 404
