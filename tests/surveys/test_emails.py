"""The invitation email: links, headers, language; also for an unsaved invitation (preview)."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from surveys.emails import invitation_language, invitation_message
from surveys.models import Invitation
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def html_of(message):
    return message.alternatives[0][0]


def test_it_is_multipart_with_eleven_score_links_in_each_part():
    invitation = InvitationFactory()
    message = invitation_message(invitation)
    base = f"{settings.SITE_URL}/s/{invitation.token}/"
    html = html_of(message)
    assert message.alternatives[0][1] == "text/html"
    for part in (message.body, html):
        assert re.findall(re.escape(base) + r"\?score=(\d+)", part) == [str(n) for n in range(11)]


def test_it_carries_the_one_click_unsubscribe_headers_and_a_message_id():
    invitation = InvitationFactory()
    message = invitation_message(invitation)
    unsubscribe = f"{settings.SITE_URL}/s/{invitation.token}/unsubscribe/"
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in message.body and unsubscribe in html_of(message)
    built = message.message()
    assert built["Message-ID"] == message.extra_headers["Message-ID"]
    assert built["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_it_is_sent_from_the_survey_sender_to_the_invitation_address():
    survey = SurveyFactory(sender_name="Ana at Example", sender_email="ana@example.com")
    invitation = InvitationFactory(survey=survey, email="kept@customer.example.com")
    message = invitation_message(invitation)
    assert message.from_email == "Ana at Example <ana@example.com>"
    assert message.to == ["kept@customer.example.com"]
    assert message.extra_headers["Message-ID"].endswith("@example.com>")


def test_the_default_question_names_the_company_and_a_custom_one_is_kept():
    default = invitation_message(InvitationFactory())
    assert f"How likely are you to recommend {settings.COMPANY_NAME} to a friend or colleague?" in default.body
    custom = invitation_message(InvitationFactory(survey=SurveyFactory(question="Would you tell {company}?")))
    assert f"Would you tell {settings.COMPANY_NAME}?" in custom.body


@pytest.mark.parametrize(("survey_language", "customer_language", "expected"),
                         [("", "fr", "fr"), ("", "de", "de"), ("de", "fr", "de"), ("", "en", "en")])
def test_it_is_rendered_in_the_survey_language_else_the_customers(survey_language, customer_language, expected):
    invitation = InvitationFactory(
        survey=SurveyFactory(language=survey_language), customer=CustomerFactory(language=customer_language)
    )
    assert invitation_language(invitation) == expected
    message = invitation_message(invitation)
    assert f'<html lang="{expected}">' in html_of(message)
    assert translation.get_language() == settings.LANGUAGE_CODE  # the override did not leak


def test_a_french_customer_gets_the_french_subject_when_the_catalogue_has_it():
    invitation = InvitationFactory(customer=CustomerFactory(language="fr"))
    with translation.override("fr"):
        expected = translation.gettext("Reminder:")
    message = invitation_message(invitation, reminder=True)
    assert message.subject.startswith(expected)


def test_a_reminder_says_so_and_keeps_the_same_link():
    invitation = InvitationFactory()
    first, reminder = invitation_message(invitation), invitation_message(invitation, reminder=True)
    assert reminder.subject.startswith("Reminder:") and not first.subject.startswith("Reminder:")
    assert f"/s/{invitation.token}/?score=7" in reminder.body
    assert reminder.extra_headers["Message-ID"] != first.extra_headers["Message-ID"]


def test_it_renders_an_unsaved_invitation_for_the_preview(django_assert_num_queries):
    survey = SurveyFactory()
    customer = CustomerFactory(name="Jo")
    preview = Invitation(survey=survey, customer=customer)
    with django_assert_num_queries(0):
        message = invitation_message(preview)
    assert message.to == [customer.email] and "Jo" in message.body
    assert f"/s/{preview.token}/?score=0" in message.body


def test_each_message_of_a_survey_gets_its_own_link_and_name_escaped_in_html():
    survey = SurveyFactory()
    first = InvitationFactory(survey=survey, customer=CustomerFactory(name="Tom & <Jerry>"))
    second = InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann"))
    one, two = invitation_message(first), invitation_message(second)
    assert first.token in one.body and first.token not in two.body and second.token in two.body
    assert "Tom & <Jerry>" in one.body and "Tom &amp; &lt;Jerry&gt;" in html_of(one)
    assert "Ann" in two.body and "Jerry" not in two.body


def test_an_edited_survey_is_rendered_afresh():
    survey = SurveyFactory(question="Old question?")
    invitation = InvitationFactory(survey=survey)
    assert "Old question?" in invitation_message(invitation).body
    survey.question = "New question?"
    survey.save()
    assert "New question?" in invitation_message(invitation).body
