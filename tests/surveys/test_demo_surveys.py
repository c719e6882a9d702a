"""The demo's surveys: deterministic, honest samples, and the story the dashboards tell."""

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import Count

from accounting.management.commands.demo import mailbox
from reports.loyalty import loyalty_economics
from reports.nps import nps_report
from reports.periods import parse_period
from surveys.models import Invitation, InvitationState, Response, Survey, SurveyKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo(**options):
    out = StringIO()
    call_command("demo", stdout=out, customers=600, seed=3, until="2026-06", no_users=True, **options)
    return out.getvalue()


def snapshot():
    return (
        list(
            Invitation.objects.values("state", "suppression_reason")
            .annotate(n=Count("id"))
            .order_by("state", "suppression_reason")
        ),
        list(Response.objects.order_by("answered_at", "score").values_list("score", "reason")[:50]),
        sorted(Invitation.objects.filter(reference__startswith="demo-live-").values_list("reference", flat=True)),
    )


def test_the_demo_loads_surveys_once_and_the_same_again_after_a_reset():
    output = demo()
    assert "Loaded 2 demo surveys" in output
    first = snapshot()
    assert "Loaded 2 demo surveys" not in demo()
    assert demo(reset=True) and snapshot() == first
    assert Survey.objects.filter(name__startswith="Demo: ").count() == 2


def test_the_demo_sample_is_honest():
    demo()
    states = set(Invitation.objects.values_list("state", flat=True))
    assert {InvitationState.RESPONDED, InvitationState.SUPPRESSED, InvitationState.BOUNCED} <= states
    reasons = set(Invitation.objects.exclude(suppression_reason="").values_list("suppression_reason", flat=True))
    assert {"opted_out", "throttled", "bounced_before"} <= reasons


def test_promoters_churn_less_and_keep_more_revenue_than_detractors():
    demo()
    totals = {}
    for quarter in ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"):
        for row in loyalty_economics(period=parse_period(quarter)):
            total = totals.setdefault(row.category, [0, 0, 0, 0])
            total[0] += row.customers
            total[1] += row.churned_customers
            total[2] += row.revenue
            total[3] += row.next_revenue
    promoters, detractors = totals["promoter"], totals["detractor"]
    assert promoters[1] / promoters[0] < detractors[1] / detractors[0]
    assert promoters[3] / promoters[2] > detractors[3] / detractors[2]


# --- The data end mid-quarter (`run.py demo` loads up to the last full month) ----------------------


def relationship_nps(quarter: str) -> float:
    return float(nps_report(period=parse_period(quarter), survey_type=SurveyKind.RELATIONSHIP).counts.nps)


def revenue_kept(quarter: str) -> dict[str, float]:
    return {row.category: float(row.nrr) for row in loyalty_economics(period=parse_period(quarter))}


@pytest.mark.parametrize("until", ["2026-10", "2026-11"])
def test_the_last_surveyed_quarter_tells_the_same_story_when_the_data_end_mid_quarter(until):
    """Scores lean on the customer's revenue in the next quarter; for 2026-Q3 that is 2026-Q4, of
    which the ledger holds one or two months. Counted as it stood, nearly every respondent "shrank"
    and the demo's headline NPS fell from about +15 to about -50."""
    call_command("demo", stdout=StringIO(), customers=1000, seed=42, until=until, no_users=True)

    earlier = [relationship_nps(quarter) for quarter in ("2025-Q4", "2026-Q1", "2026-Q2")]
    assert relationship_nps("2026-Q3") > min(earlier) - 20
    for quarter in ("2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"):
        kept = revenue_kept(quarter)
        assert kept["promoter"] > kept["detractor"], (quarter, kept)


def test_a_first_quarter_the_ledger_holds_in_part_is_not_all_promoters():
    """With --until 2026-08 and one year, the ledger starts in 2025-09: a customer's one month of
    2025-Q3 against a full 2025-Q4 looked like growth, so nearly every respondent was a promoter."""
    call_command("demo", stdout=StringIO(), customers=1000, seed=42, until="2026-08", years=1, no_users=True)

    later = [relationship_nps(quarter) for quarter in ("2025-Q4", "2026-Q1")]
    assert relationship_nps("2025-Q3") < max(later)


# --- A link to open: the demo's own invitations have all expired ---------------------------------


def survey_links(message) -> list[str]:
    return re.findall(r"https?://[^/\s]+(/s/[\w-]+/)\?score=\d+", message.body)


def test_the_demo_emails_a_few_customers_a_survey_link_that_can_be_answered(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo()

    assert 5 <= len(mail.outbox) <= 10
    links = survey_links(mail.outbox[0])
    assert links and client.get(links[0]).status_code == 200
    live = Invitation.objects.filter(reference__startswith="demo-live-")
    assert live.filter(state=InvitationState.SENT).count() == live.count() == len(mail.outbox)


def test_a_re_run_of_the_demo_emails_nobody_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demo()
    sent = len(mail.outbox)

    with django_capture_on_commit_callbacks(execute=True):
        output = demo()

    assert sent and len(mail.outbox) == sent
    assert "Emailed" not in output and "Queued" not in output


def test_the_summary_says_how_many_were_emailed_and_in_which_folder(settings, tmp_path, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    # As outside a test's transaction: each commit runs the send at once (eager Celery).
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, using=None, robust=False: func())

    output = demo()

    emailed = int(re.search(r"Emailed (\d+) demo customers", output)[1])
    # Django's file backend names a file by the second and its connection's id(): two connections
    # in the same second may share one file, each message then followed by its 79-dash line.
    written = sum(path.read_bytes().count(b"-" * 79) for path in tmp_path.iterdir())
    assert emailed == written >= 5
    assert f"open a survey link from {tmp_path}/." in output


def test_the_summary_names_the_demos_mail_folder_as_the_readme_does(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(settings.BASE_DIR / "tmp" / "mail")

    assert mailbox() == "tmp/mail/"


def test_before_the_commit_the_emails_wait_queued_and_the_summary_says_so():
    output = demo()

    assert not mail.outbox
    assert Invitation.objects.filter(reference__startswith="demo-live-", state=InvitationState.QUEUED).count() >= 5
    assert "Queued " in output and "for the sending task" in output
