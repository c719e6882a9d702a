"""Every link and form a staff user is shown leads somewhere their role may go: the staff UI
crawled from the home page as each role (GET forms submitted as drawn, POST forms submitted with
valid data), and the Django admin as an admin. No 403, 404, 405, 500 or login bounce."""

import datetime as dt
import re
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import (
    CostEntryFactory,
    CustomerFactory,
    InvitationFactory,
    ResponseFactory,
    RevenueEntryFactory,
    SurveyFactory,
    UserFactory,
    pay,
    reason,
)

pytestmark = pytest.mark.django_db


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.forms, self._form = [], [], None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href") is not None:
            self.links.append(a)
        elif tag == "form":
            self._form = {"attrs": a, "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif self._form is not None and tag == "input":
            t = (a.get("type") or "text").lower()
            if t in ("submit", "image", "button", "reset"):
                self._form["buttons"].append(a)
                return
            if not a.get("name"):
                return
            if t in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append((a["name"], a.get("value") or ("on" if t == "checkbox" else "")))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "first": None, "selected": None}
        elif self._select is not None and tag == "option":
            if self._select["first"] is None:
                self._select["first"] = a.get("value", "")
            if "selected" in a:
                self._select["selected"] = a.get("value", "")
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
        elif self._form is not None and tag == "button":
            self._form["buttons"].append(a)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            s = self._select
            value = s["selected"] if s["selected"] is not None else s["first"]
            if value is not None:
                self._form["fields"].append((s["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append(tuple(self._textarea))
            self._textarea = None
        elif tag == "form":
            self._form = None


def build_data():
    now = timezone.now()
    admin = UserFactory(username="owner", role="admin")
    parent = CustomerFactory(name="Parent Co", segment="Enterprise")
    kids = [CustomerFactory(parent=parent, entity=parent, segment="Enterprise") for _ in range(2)]
    ref = CustomerFactory(referred_by=kids[0], reason=reason("referral") if _has("referral") else None)
    other = CustomerFactory(reason_text="Because", segment="SMB")
    from accounting.models import ReasonCategory

    cats = list(ReasonCategory.objects.all())
    for i, c in enumerate([parent, *kids, ref, other]):
        c.reason = cats[i % len(cats)]
        c.reason_source = "staff"
        c.reason_answered_at = now
        c.save()
        for m in range(1, 13):
            pay(c, f"2025-{m:02d}-15", f"{100 + i * 10 + m}.00")
            pay(c, f"2024-{m:02d}-15", f"{90 + i * 10 + m}.00")
        CostEntryFactory(customer=c, date=dt.date(2025, 3, 1), amount=Decimal("12.00"))
    RevenueEntryFactory(customer=other, date=dt.date(2025, 6, 1), amount=Decimal("-20.00"))
    from accounting.models import ImportBatch, ImportRowError, ReasonRequest

    for kind, status in (("customers", "succeeded"), ("revenue", "rejected"), ("costs", "failed"),
                         ("responses", "running"), ("revenue", "succeeded")):
        b = ImportBatch.objects.create(kind=kind, source="ui", filename=f"{kind}.csv", status=status,
                                       rows_total=3, error_count=2 if status == "rejected" else 0,
                                       created_by=admin, finished_at=None if status == "running" else now)
        if status in ("rejected", "failed"):
            ImportRowError.objects.create(batch=b, row=2, column="amount", message="Not a number")
            ImportRowError.objects.create(batch=b, row=None, column="", message="Missing header")
    ReasonRequest.objects.create(customer=other, token_hash="a" * 64, expires_at=now + dt.timedelta(days=5),
                                 sent_at=now, created_by=admin)
    ReasonRequest.objects.create(customer=kids[1], token_hash="b" * 64, expires_at=now - dt.timedelta(days=5),
                                 sent_at=now - dt.timedelta(days=40), answered_at=now - dt.timedelta(days=39))

    from surveys.models import Launch, SuppressedAddress

    surveys = [
        SurveyFactory(kind="relationship", status="active", owner=admin),
        SurveyFactory(kind="transactional", status="active"),
        SurveyFactory(kind="relationship", status="closed"),
        SurveyFactory(kind="relationship", status="draft"),
        SurveyFactory(kind="relationship", status="active", anonymous=True),
        SurveyFactory(kind="transactional", status="closed", anonymous=True, imported=True),
        SurveyFactory(kind="relationship", status="active", audience="segment", audience_segment="SMB",
                      repeat_days=90, next_launch_at=now + dt.timedelta(days=10)),
    ]
    customers = [parent, *kids, ref, other]
    states = ["queued", "sending", "sent", "failed", "bounced", "expired", "suppressed"]
    for s in surveys:
        launch = Launch.objects.create(survey=s, audience="all", launched_by=admin, audience_size=5, via="ui") \
            if s.status != "draft" else None
        if s.status == "draft":
            continue
        for i, st in enumerate(states):
            c = CustomerFactory(segment="SMB")
            extra = {}
            if st == "suppressed":
                extra = {"suppression_reason": "opted_out", "sent_at": None}
            if st == "failed":
                extra = {"last_error": "SMTP 550", "sent_at": None, "attempts": 3}
            if st in ("queued", "sending"):
                extra = {"sent_at": None}
            if st == "bounced":
                extra = {"bounced_at": now}
            InvitationFactory(survey=s, customer=c, state=st, launch=launch, touchpoint="checkout",
                              reference=f"ORD-{i}", **extra)
        for i, c in enumerate(customers):
            score = [0, 5, 7, 8, 10][i]
            inv = InvitationFactory(survey=s, customer=c, state="responded", launch=launch,
                                    responded_at=now - dt.timedelta(days=i))
            r = ResponseFactory(invitation=inv, score=score, reason=f"reason {i}", suggestion=f"sugg {i}",
                                touchpoint="support", answered_at=now - dt.timedelta(days=i * 30))
            if i % 2 == 0:
                r.followed_up_at = now
                r.followed_up_by = admin
                r.follow_up_note = "Called them"
                r.save()
    SuppressedAddress.objects.create(email="gone@customer.example.com", kind="bounce")
    from reports.models import ReportSnapshot

    ReportSnapshot.objects.create(kind="earned_growth", period="2023", status="failed", error="boom")
    ReportSnapshot.objects.create(kind="nps", period="2023-Q2", status="pending")
    ReportSnapshot.objects.create(kind="earned_growth", period="2022-Q1", status="running", started_at=now)
    return {"parent": parent, "surveys": surveys, "customers": customers}


def _has(slug):
    from accounting.models import ReasonCategory

    return ReasonCategory.objects.filter(slug=slug).exists()


SKIP = ("/accounts/logout/", "/static/", "/media/")
PERMISSION_WORDS = re.compile(r"(do not|don't|lack|without) (have )?(the )?permission|not allowed", re.I)


def crawl(client, *, start="/", max_pages=3000, per_path=6, follow_admin=False, only=None):
    queue = [(start, "(start)")]
    seen = set()
    per = Counter()
    problems = []
    post_forms = []  # (page, action, fields, buttons)
    pages = 0
    while queue and pages < max_pages:
        url, source = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        parts = urlsplit(url)
        path = parts.path
        if only:
            from urllib.parse import parse_qsl
            q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "_changelist_filters"]
            normal = parts._replace(query=urlencode(q)).geturl()
            if normal != url:
                if normal in seen:
                    continue
                seen.add(normal)
                url = normal
                parts = urlsplit(url)
        keys = tuple(sorted({pair.split("=")[0] for pair in parts.query.split("&") if pair}))
        shape = (re.sub(r"/\d+/", "/N/", path) if only else path, keys)
        if per[shape] >= per_path:
            continue
        per[shape] += 1
        pages += 1
        response = client.get(url)
        status = response.status_code
        if status in (403, 404, 405, 500) or status >= 500:
            problems.append((status, url, source))
            continue
        if status in (301, 302, 303):
            loc = urljoin(url, response["Location"])
            if "/accounts/login/" in loc:
                problems.append(("login-redirect", url, source))
            elif urlsplit(loc).netloc in ("", "testserver"):
                queue.append((urlsplit(loc)._replace(scheme="", netloc="").geturl(), url))
            continue
        ctype = response.get("Content-Type", "")
        if "html" not in ctype:
            continue
        body = response.content.decode("utf-8", "replace")
        main = body.split('<main id="main">')[1] if '<main id="main">' in body else body
        if PERMISSION_WORDS.search(re.sub(r"<[^>]+>", " ", main)):
            problems.append(("200-permission-text", url, source))
        if path.startswith("/admin/") and not follow_admin:
            continue
        if only and not path.startswith(only):
            continue
        page = Page()
        page.feed(body)
        for a in page.links:
            href = a["href"].strip()
            if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
                continue
            target = urljoin(url, href)
            t = urlsplit(target)
            if t.netloc not in ("", "testserver"):
                continue
            if t.path.startswith(SKIP):
                continue
            queue.append((t._replace(scheme="", netloc="", fragment="").geturl(), url))
        for form in page.forms:
            attrs = form["attrs"]
            method = (attrs.get("method") or "get").lower()
            action = urljoin(url, attrs.get("action") or url)
            t = urlsplit(action)
            if t.path.startswith(SKIP):
                continue
            if method == "get":
                q = urlencode([f for f in form["fields"]])
                target = t.path + ("?" + q if q else "")
                queue.append((target, url + " [GET form]"))
            else:
                post_forms.append((url, t.path, form["fields"], form["buttons"]))
    return problems, post_forms, pages, per


@pytest.mark.parametrize("role", ["admin", "analyst", "viewer"])
def test_staff_links_lead_where_the_role_may_go(role, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    build_data()
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role=role))
    problems, _, pages, _ = crawl(client)
    assert pages > 50
    assert not problems, problems


def _submit_data(action, fields, n):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounting.models import ReasonCategory

    data = {}
    for name, value in fields:
        if name == "csrfmiddlewaretoken":
            continue
        data.setdefault(name, value)
    if "name" in data and action.endswith("/new/"):
        data["name"] = f"Crawler survey {n}"
    if "file" in data or action.rstrip("/").endswith("imports"):
        data["kind"] = "customers"
        data["file"] = SimpleUploadedFile("c.csv", b"external_id,name,email\nZZ1,Zed,zed@example.com\n", "text/csv")
    if action.endswith("/reason/"):
        data["reason"] = str(ReasonCategory.objects.exclude(slug="other").first().pk)
    if action.endswith("/launch/"):
        data["confirm"] = "on"
    if action.endswith("/follow-up/"):
        data["note"] = "Phoned"
        data["done"] = "on"
    if "old_password" in data:
        data.update(old_password="correct horse battery staple", new_password1="An0ther long passphrase!",
                    new_password2="An0ther long passphrase!")
    return data


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_post_forms_shown_succeed_for_the_role(role, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    build_data()
    client = Client(raise_request_exception=False)
    user = UserFactory(role=role)
    client.force_login(user)
    _, post_forms, _, _ = crawl(client, per_path=3)
    bad = []
    done = set()
    for n, (page, action, fields, _buttons) in enumerate(post_forms):
        key = (re.sub(r"\d+", "N", action), urlsplit(page).path)
        if key in done:
            continue
        done.add(key)
        user.refresh_from_db()
        client.force_login(user)
        response = client.post(action, _submit_data(action, fields, n))
        if response.status_code in (403, 404, 405) or response.status_code >= 500 or (
            response.status_code == 302 and "/accounts/login/" in response["Location"]):
            bad.append((response.status_code, action, page))
    assert not bad, bad


@pytest.mark.timeout(900)  # every admin page and form, ~80 s alone: 300 s ran out on a loaded machine
def test_admin_crawl(settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    build_data()
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role="admin"))
    # One page per address pattern: every model's list, a change, a history and the add page.
    problems, _, pages, _ = crawl(
        client, start="/admin/", max_pages=1500, per_path=1, follow_admin=True, only="/admin/"
    )
    assert pages > 100
    assert not problems, problems


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_links_past_the_first_page_of_lines(role, settings):
    """Pages past their first page of lines: the 'all entries' and pagination links."""
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    from accounting.models import ImportBatch, ImportRowError

    customer = CustomerFactory()
    for i in range(70):
        pay(customer, f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}", f"{i + 1}.00")
    batch = ImportBatch.objects.create(kind="revenue", source="ui", status="rejected", error_count=300)
    ImportRowError.objects.bulk_create(ImportRowError(batch=batch, row=i + 2, column="amount", message="bad")
                                       for i in range(300))
    survey = SurveyFactory(status="active")
    for _ in range(120):
        InvitationFactory(survey=survey)
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(role=role))
    bad = []
    for start in (f"/customers/{customer.pk}/", f"/imports/{batch.pk}/", f"/surveys/{survey.pk}/", "/customers/"):
        problems, _, _, _ = crawl(client, start=start, max_pages=60, per_path=8, only=start)
        bad += problems
    assert not bad, bad
