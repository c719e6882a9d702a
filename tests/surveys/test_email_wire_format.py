"""Every email the platform sends, as a mail client receives the bytes, in every language:
MIME parts, one-line ASCII headers, lines within 998 octets, escaped HTML, no header injection."""

import email
import re
from email import policy

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounting.services import reason_request_create
from surveys.alerts import send_detractor_alert
from surveys.emails import invitation_message
from surveys.models import Response
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db
EVIL = 'Zoë <script>alert("x")</script> O\'Neil\r\nBcc: evil@example.org'


def check_bytes(message):
    raw = message.message().as_bytes()
    head, _, _ = raw.partition(b"\n\n")
    head.decode("ascii")
    assert all(len(line) <= 998 for line in raw.split(b"\n"))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Date"] and parsed["Message-ID"] and "\n" not in str(parsed["Subject"])
    assert "Bcc" not in parsed and not re.search(rb"^bcc:", head, re.I | re.M)
    html = parsed.get_body(("html",)).get_content()
    assert "<script>" not in html
    return parsed, parsed.get_body(("plain",)).get_content(), html


@pytest.mark.parametrize("lang", [code for code, _ in settings.LANGUAGES])
def test_every_email_in_every_language(lang, django_capture_on_commit_callbacks):
    customer = CustomerFactory(language=lang, name=EVIL)
    survey = SurveyFactory(sender_name="Équipe Zoë", question='<b>"Would"</b> you ' + "x" * 280)
    invitation = InvitationFactory(customer=customer, survey=survey)
    for reminder in (False, True):
        parsed, text, html = check_bytes(invitation_message(invitation, reminder=reminder))
        base = f"{settings.SITE_URL}/s/{invitation.token}/"
        for part in (text, html):
            assert re.findall(re.escape(base) + r"\?score=(\d+)", part) == [str(n) for n in range(11)]
        assert parsed["List-Unsubscribe"].strip() == f"<{base}unsubscribe/>"  # folded by the stdlib: legal FWS
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parsed["From"].addresses[0].display_name == "Équipe Zoë"
    with django_capture_on_commit_callbacks(execute=True):
        reason_request_create(customer=customer)
    check_bytes(mail.outbox[-1])


@pytest.mark.parametrize("anonymous", [False, True])
def test_detractor_alert_bytes_and_anonymity(anonymous):
    owner = UserFactory(email="owner@staff.example.com", role="analyst", password=None)
    customer = CustomerFactory(name="Jörg Secret", email="jorg.secret@customer.example.com")
    survey = SurveyFactory(owner=owner, anonymous=anonymous, name="Survey\r\nBcc: evil@example.org")
    invitation = InvitationFactory(survey=survey, customer=customer, reference="ORDER-77", touchpoint="Shop")
    response = ResponseFactory(invitation=invitation, score=2, answered_at=timezone.now(),
                               reason='<script>x</script> "q" ' + "long " * 400, touchpoint="Shop")
    Response.objects.filter(pk=response.pk).update(alert_due=True)
    send_detractor_alert.apply(args=[response.pk])
    parsed, text, html = check_bytes(mail.outbox[-1])
    assert "&lt;script&gt;x&lt;/script&gt; &quot;q&quot;" in html
    raw = mail.outbox[-1].message().as_string() + text + html
    assert invitation.token not in raw
    identity = ["Secret", "jorg.secret", customer.external_id, "ORDER-77"]
    if anonymous:
        assert [value for value in identity if value in raw] == []
    else:
        assert [value for value in identity if value not in raw] == []
