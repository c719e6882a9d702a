"""Behaviour of the staff forms, emails, failure reasons, selectors and admins that no test pinned:
each test here failed on a small mutation of the product code (a mutation audit) and passes on the
real code."""

import datetime as dt
import smtplib
import unicodedata
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounting.forms import ImportUploadForm
from accounting.models import Customer, ImportKind
from cxplatform.text_search import folded_contains
from surveys import failures
from surveys.emails import invitation_message
from surveys.failures import failure_reason, invitation_failure_reason, survey_failure_summary
from surveys.followups import response_follow_up
from surveys.forms import SurveyForm
from surveys.models import InvitationState, Response, Survey, SurveyKind
from tests.factories import (
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
    UserFactory,
    reason,
)
from tests.form_data import admin_change_data, survey_form_data

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


def _listed(page) -> set[int]:
    assert page.status_code == 200
    return {row.pk for row in page.context["page_obj"].object_list}


def _admin_listed(page) -> set[int]:
    assert page.status_code == 200
    return {row.pk for row in page.context["cl"].result_list}


# --- surveys/forms.py ----------------------------------------------------------------------------


def test_a_one_day_date_range_lists_that_days_answers(client_as):
    """From and To on the same day is a valid range (that day), not the "before the From date" error."""
    on_the_day = ResponseFactory(answered_at=DAY)
    ResponseFactory(answered_at=DAY + dt.timedelta(days=1))

    one_day = {"date_from": "2025-03-10", "date_to": "2025-03-10"}
    page = client_as("analyst").get(reverse("surveys:response-list"), one_day)

    assert _listed(page) == {on_the_day.pk}
    assert not page.context["form"].errors


def test_an_unchanged_kind_posted_by_a_page_drawn_before_the_first_invitation_warns_of_nothing(client_as):
    """A page drawn while the kind could still change posts the kind back as it was; once customers
    were invited that kind is locked, but saving the unchanged value is no refused change to warn of."""
    survey = SurveyFactory(name="Pulse", kind=SurveyKind.RELATIONSHIP)
    InvitationFactory(survey=survey)  # since the page was drawn

    response = client_as("analyst").post(
        reverse("surveys:survey-edit", args=[survey.pk]),
        survey_form_data(kind=SurveyKind.RELATIONSHIP, question="New wording {company}?"),
        follow=True,
    )

    assert [str(message) for message in response.context["messages"]] == ["Survey “Pulse” saved."]
    survey.refresh_from_db()
    assert survey.question == "New wording {company}?"


# --- accounting/forms.py -------------------------------------------------------------------------


def test_an_upload_named_in_capitals_is_a_csv_too(admin):
    """Windows tools write EXPORT.CSV: the extension check ignores case."""
    upload = SimpleUploadedFile("CUSTOMERS.CSV", b"external_id,name\nC1,Ada\n", content_type="text/csv")

    form = ImportUploadForm({"kind": ImportKind.CUSTOMERS}, {"file": upload}, user=admin)

    assert form.is_valid(), form.errors


# --- surveys/emails.py ---------------------------------------------------------------------------


def test_a_reminder_keeps_the_language_fixed_at_the_invitation_when_the_survey_changes_its(settings):
    """SPEC §4: one language throughout. The survey's language set to German after a French invitation
    was made leaves its reminder French, as the answer page it links to is."""
    survey = SurveyFactory(language="fr")
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory(language="en"))
    assert invitation.language == "fr"
    Survey.objects.filter(pk=survey.pk).update(language="de")
    invitation.survey.refresh_from_db()

    message = invitation_message(invitation, reminder=True)

    assert '<html lang="fr">' in message.alternatives[0][0]


# --- surveys/followups.py ------------------------------------------------------------------------


def test_reopening_a_follow_up_forgets_who_closed_it():
    """Ticked back to "not yet": neither when nor by whom it was followed up remains."""
    staff = UserFactory(role="analyst")
    response = ResponseFactory()
    response_follow_up(response=response, user=staff, note="Called", done=True)

    response_follow_up(response=Response.objects.get(pk=response.pk), user=staff, note="Called", done=False)

    stored = Response.objects.get(pk=response.pk)
    assert (stored.followed_up_at, stored.followed_up_by) == (None, None)


def test_a_repeat_from_a_stale_copy_changes_nothing():
    """A double click or a colleague's page read before the first save: the same follow-up again
    keeps who closed the loop and when, and adds no history row."""
    first, second = UserFactory(role="analyst"), UserFactory(role="analyst")
    response = ResponseFactory()
    stale = Response.objects.get(pk=response.pk)  # read before the first save
    response_follow_up(response=Response.objects.get(pk=response.pk), user=first, note="Called", done=True)
    saved = Response.objects.get(pk=response.pk)
    history = saved.history.count()

    response_follow_up(response=stale, user=second, note="Called", done=True)

    after = Response.objects.get(pk=response.pk)
    assert (after.followed_up_at, after.followed_up_by) == (saved.followed_up_at, first)
    assert after.history.count() == history


# --- surveys/failures.py -------------------------------------------------------------------------


def test_a_reply_repeated_for_several_recipients_is_shown_once():
    """One reason per distinct reply, not one per refused recipient."""
    error = repr(smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"5.1.1 User unknown"),
                                                "b@x.test": (550, b"5.1.1 User unknown")}))
    assert failure_reason(error) == "550 5.1.1 User unknown"


def test_a_long_reason_is_cut_to_its_limit_with_an_ellipsis():
    """Staff read a short reason: at most REASON_MAX_CHARS characters, the last an ellipsis."""
    reason_text = failure_reason(repr(ValueError("word " * 34)))  # 181 characters in full
    assert len(reason_text) == failures.REASON_MAX_CHARS
    assert reason_text.endswith("…")


def test_a_failed_invitation_without_a_recorded_error_says_so():
    invitation = InvitationFactory(state=InvitationState.FAILED, last_error="")
    assert invitation_failure_reason(invitation) == failures.NO_REASON


def test_the_summary_reads_the_latest_failures_and_says_when_it_sampled(monkeypatch):
    """Over SUMMARY_SAMPLE failures the summary counts the newest ones and says it sampled;
    exactly SUMMARY_SAMPLE is all of them, not a sample."""
    monkeypatch.setattr(failures, "SUMMARY_SAMPLE", 2)
    survey = SurveyFactory()
    InvitationFactory(survey=survey, state=InvitationState.FAILED, last_error="old reason")
    for _ in range(2):
        InvitationFactory(survey=survey, state=InvitationState.FAILED, last_error="new reason")

    summary = survey_failure_summary(survey)
    assert summary.reasons == [("new reason", 2)]
    assert summary.sampled

    survey.invitations.filter(last_error="old reason").delete()
    assert not survey_failure_summary(survey).sampled


# --- surveys/selectors.py ------------------------------------------------------------------------


def test_a_user_given_the_response_permission_directly_may_own_a_survey():
    """Alerts go to whoever may see responses, by a group or by a permission of their own."""
    reader = UserFactory(username="rita", role="viewer")
    reader.user_permissions.add(Permission.objects.get(content_type__app_label="surveys", codename="view_response"))

    form = SurveyForm(instance=SurveyFactory())

    assert reader in form.fields["owner"].queryset


def test_the_response_page_shows_the_address_the_invitation_went_to(client_as):
    """The customer's email changed since: the answer's page names the address that was invited."""
    response = ResponseFactory(invitation__customer=CustomerFactory(email="old@example.com"))
    Customer.objects.filter(pk=response.customer_id).update(email="new@example.com")

    page = client_as("analyst").get(reverse("surveys:response-detail", args=[response.pk]))

    assert page.context["identity"].email == "old@example.com"


# --- accounting/admin.py -------------------------------------------------------------------------


def test_the_ledger_sign_filter_lists_a_zero_line_under_charges(client, admin):
    """Every line is in one of the two groups: a zero amount is not a refund, so it is a charge."""
    zero = RevenueEntryFactory(amount=Decimal("0"))
    refund = RevenueEntryFactory(amount=Decimal("-5"))
    client.force_login(admin)
    url = reverse("admin:accounting_revenueentry_changelist")

    assert _admin_listed(client.get(url, {"sign": "positive"})) == {zero.pk}
    assert _admin_listed(client.get(url, {"sign": "negative"})) == {refund.pk}


def test_the_admin_keeps_a_reason_text_stored_before_the_limit_when_another_field_changes(client_as):
    """Only a new text is held to the length limit: editing the segment keeps a longer old one."""
    legacy = "x" * 2001
    customer = CustomerFactory(reason=reason("other"), reason_text=legacy, segment="SMB")
    client = client_as("admin")
    url = reverse("admin:accounting_customer_change", args=[customer.pk])

    response = client.post(url, admin_change_data(client, url, segment="ENT"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.segment, stored.reason_text) == ("ENT", legacy)


# --- surveys/admin.py ----------------------------------------------------------------------------


def test_the_admin_stores_a_segment_typed_decomposed_as_the_customers_spell_it(client, admin):
    """"Café" pasted in NFD is the customers' NFC "Café": accepted, and stored in NFC."""
    CustomerFactory(segment="Café")
    survey = SurveyFactory(name="Pulse")
    client.force_login(admin)
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    nfd = unicodedata.normalize("NFD", "Café")

    response = client.post(url, admin_change_data(client, url, audience="segment", audience_segment=nfd))

    assert response.status_code == 302, response.context["adminform"].form.errors
    survey.refresh_from_db()
    assert survey.audience_segment == "Café"


def test_the_admin_response_list_filters_by_anonymity(client, admin):
    named = ResponseFactory(invitation__survey=SurveyFactory(anonymous=False))
    hidden = ResponseFactory(invitation__survey=SurveyFactory(anonymous=True))
    client.force_login(admin)
    url = reverse("admin:surveys_response_changelist")

    assert _admin_listed(client.get(url, {"anonymous": "yes"})) == {hidden.pk}
    assert _admin_listed(client.get(url, {"anonymous": "no"})) == {named.pk}


# --- cxplatform/text_search.py -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "search"), [("Straße 5", "STRASSE"), ("ΟΔΟΣ", "οδος"), ("L'Équipe", "équipe")])
def test_the_sqlite_search_ignores_case_as_unicode_folds_it(text, search):
    """casefold, not lower: "STRASSE" finds "Straße", a final sigma finds a capital one."""
    assert folded_contains(text, search)
