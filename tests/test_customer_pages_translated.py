"""Every customer page and email in German and French: no text left as in the English rendering
(numbers, the company name and tokens aside), with the right <html lang> and Content-Language."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from accounting.services import reason_request_create
from surveys.models import Invitation, InvitationState
from tests.factories import CustomerFactory, InvitationFactory, SurveyFactory, reason

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


class Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for k, v in attrs:
            if k in ("title", "alt", "placeholder", "aria-label", "value", "lang") and v:
                self.out.append(f"@{k}={v}")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.out.append(" ".join(data.split())[:120])


def text(html):
    p = Text()
    p.feed(html)
    return p.out


def pages(language):
    out = {}
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    survey = SurveyFactory()
    inv = InvitationFactory(survey=survey, customer=CustomerFactory(language=language))
    url = f"/s/{inv.token}/"
    out["answer_get"] = c.get(url + "?score=7")
    out["answer_post_missing"] = c.post(url, {})
    out["answer_post_long"] = c.post(url, {"score": "9", "reason": "x" * 4001, "suggestion": "y" * 4001})
    c.post(url, {"score": "9", "reason": "r"})
    out["thanks"] = c.get(url + "?thanks=recorded")
    out["edit_get"] = c.get(url)
    c.post(url, {"score": "3"})
    out["thanks_upd"] = c.get(url + "?thanks=updated")
    Invitation.objects.filter(pk=inv.pk).update(state=InvitationState.RESPONDED)
    inv2 = InvitationFactory(survey=survey, customer=CustomerFactory(language=language))
    Invitation.objects.filter(pk=inv2.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    out["expired"] = c.get(f"/s/{inv2.token}/")
    out["unsub_get"] = c.get(url + "unsubscribe/")
    out["unsub_post"] = c.post(url + "unsubscribe/")
    out["405"] = c.put(url)
    out["405_why"] = c.delete(f"/why/{reason_request_create(customer=CustomerFactory(language=language)).token}/")
    csrf_token = InvitationFactory(customer=CustomerFactory(language=language)).token
    out["csrf"] = Client(enforce_csrf_checks=True).post(f"/s/{csrf_token}/", {"score": 1})
    out["400"] = c.get(url + "?score=%00")
    out["unknown"] = Client(HTTP_ACCEPT_LANGUAGE=language).get("/s/abc/")
    rr = reason_request_create(customer=CustomerFactory(language=language))
    w = f"/why/{rr.token}/"
    out["why_get"] = c.get(w)
    out["why_missing"] = c.post(w, {})
    out["why_other_empty"] = c.post(w, {"reason": reason("other").pk})
    out["why_too_long"] = c.post(w, {"reason": reason("other").pk, "reason_text": "z" * 5000})
    c.post(w, {"reason": reason("advertising").pk})
    out["why_thanks"] = c.get(w + "?thanks=recorded")
    out["why_answered"] = c.get(w)
    return out


NEUTRAL = r"(@value=)?[0-9a-zA-Z]{0,2}|@value=[A-Za-z0-9_-]{40,}|[xyz]+|Example Co|[0-9]+ / 10"


def test_no_english_leaks_on_customer_pages():
    langs = {
        lang: {k: (r.status_code, r.get("Content-Language"), text(r.content.decode())) for k, r in pages(lang).items()}
        for lang in ("en", "de", "fr")
    }
    leaks = []
    for k in langs["en"]:
        en = set(langs["en"][k][2])
        for lang in ("de", "fr"):
            status, content_language, t = langs[lang][k]
            same = [x for x in t if x in en and not re.fullmatch(NEUTRAL, x)]
            if same or f"@lang={lang}" not in t or content_language != lang:
                leaks.append((k, lang, status, content_language, same))
    assert leaks == []


def _emails(language):
    from accounting.tasks import reason_request_email
    from surveys.emails import invitation_message
    out = {}
    for days in (1, 30):
        survey = SurveyFactory(expiry_days=days)
        inv = InvitationFactory(survey=survey, customer=CustomerFactory(language=language))
        for rem in (False, True):
            m = invitation_message(inv, reminder=rem)
            out[f"inv{days}{'R' if rem else ''}"] = (m.subject, m.body, m.alternatives[0][0])
    rr = reason_request_create(customer=CustomerFactory(language=language))
    m = reason_request_email(rr.request, rr.token)
    out["why"] = (m.subject, m.body, m.alternatives[0][0])
    return out


def test_no_english_leaks_in_customer_emails():
    e = {lang: _emails(lang) for lang in ("en", "de", "fr")}
    leaks = []
    for k in e["en"]:
        en_subject, en_body, en_html = e["en"][k]
        en_lines = {line.strip() for line in en_body.splitlines() if line.strip()}
        for lang in ("de", "fr"):
            subject, body, html = e[lang][k]
            same = [line for line in body.splitlines() if line.strip() in en_lines
                    and not re.fullmatch(r"\s*([0-9]+: http\S+|Example Co)\s*", line)]
            same += [x for x in text(html) if x in set(text(en_html)) and not re.fullmatch(NEUTRAL, x)]
            if subject == en_subject or same or f"@lang={lang}" not in text(html):
                leaks.append((k, lang, subject, same))
    assert leaks == []
