"""Mail servers that refuse: the detractor alert retried on a 4xx, and staff told why invitations failed.

Against a real SMTP server (aiosmtpd).
"""

import smtplib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys import failures, sending
from surveys.alerts import MAX_RETRIES, send_detractor_alert
from surveys.failures import failure_reason, survey_failure_summary
from surveys.models import InvitationState, Response
from tests.factories import CustomerFactory, InvitationFactory, ResponseFactory, SurveyFactory, UserFactory

pytestmark = pytest.mark.django_db

OWNER = "alice@staff.example.com"


@pytest.fixture
def detractor():
    """A detractor's answer whose alert is due, to a survey owned by alice (an analyst)."""
    owner = UserFactory(username="alice", email=OWNER, password=None, role="analyst")
    response = ResponseFactory(score=2, invitation__survey=SurveyFactory(owner=owner))
    Response.objects.filter(pk=response.pk).update(alert_due=True, alert_enqueued_at=timezone.now())
    return response


# --- The detractor alert ----------------------------------------------------------------------------


@pytest.mark.usefixtures("eager_retries")
@pytest.mark.parametrize("refusal", [
    "450 4.2.0 Greylisted, come back later",
    "451 4.7.1 Greylisted, try again later",
    "452 4.2.2 Mailbox full",
    "421 4.7.0 Too many connections, closing",
])
def test_an_alert_the_owners_server_refuses_for_now_is_retried_and_delivered(smtp_server, detractor, refusal):
    server = smtp_server({OWNER: [refusal]})

    send_detractor_alert.apply(args=[detractor.pk])  # eager: the retry runs inline

    detractor.refresh_from_db()
    assert server.rcpt_seen == [OWNER, OWNER]
    assert server.delivered == [OWNER]
    assert detractor.alert_emailed_at is not None
    assert (detractor.alert_due, detractor.alert_claimed_at) == (False, None)


@pytest.mark.usefixtures("eager_retries")
def test_an_alert_the_owners_server_refuses_for_good_is_dropped_without_a_retry(smtp_server, detractor):
    server = smtp_server({OWNER: ["550 5.1.1 User unknown"] * 3})

    send_detractor_alert.apply(args=[detractor.pk])

    detractor.refresh_from_db()
    assert server.rcpt_seen == [OWNER]
    assert server.delivered == []
    assert (detractor.alert_emailed_at, detractor.alert_due, detractor.alert_claimed_at) == (None, False, None)


@pytest.mark.usefixtures("eager_retries")
def test_an_alert_refused_for_now_every_time_gives_up_after_its_retries(smtp_server, detractor):
    server = smtp_server({OWNER: ["451 4.7.1 Greylisted"] * (MAX_RETRIES + 5)})

    send_detractor_alert.apply(args=[detractor.pk])

    detractor.refresh_from_db()
    assert server.rcpt_seen == [OWNER] * (MAX_RETRIES + 1)  # each retry claimed the part again
    assert (detractor.alert_emailed_at, detractor.alert_due, detractor.alert_claimed_at) == (None, False, None)


# --- Why invitations failed -------------------------------------------------------------------------


def refused(address: str, reply: bytes, code: int = 550) -> str:
    """`last_error` as the sender records an SMTP refusal of `address`."""
    return repr(smtplib.SMTPRecipientsRefused({address: (code, reply)}))


def failed(survey, last_error: str, **fields):
    return InvitationFactory(survey=survey, state=InvitationState.FAILED, last_error=last_error, **fields)


def survey_page(client, survey) -> str:
    client.force_login(UserFactory(role="analyst", password=None))
    return client.get(reverse("surveys:survey-detail", args=[survey.pk])).content.decode()


@pytest.mark.parametrize(("last_error", "shown"), [
    (refused("gone@x.test", b"5.1.1 User unknown"), "550 5.1.1 User unknown"),
    (refused("gone@x.test", b"5.1.1 <gone@x.test>: Recipient address rejected"),
     "550 5.1.1 <address>: Recipient address rejected"),
    (repr(smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad\n5.7.8 credentials")), "535 5.7.8 Bad 5.7.8 credentials"),
    (repr(smtplib.SMTPDataError(554, "refusé".encode())), "554 refusé"),
    (repr(ConnectionRefusedError(111, "Connection refused")), "ConnectionRefusedError: Connection refused"),
    (repr(smtplib.SMTPServerDisconnected("Connection unexpectedly closed")),
     "SMTPServerDisconnected: Connection unexpectedly closed"),
    ("sendgrid: bounced 550 mailbox jo@x.test unavailable", "sendgrid: bounced 550 mailbox <address> unavailable"),
    (sending.INTERRUPTED, sending.INTERRUPTED),
    # Quoted back in single quotes, this message reads as a tuple literal, not a string.
    (repr(ValueError("a', 'b")), "ValueError: a', 'b"),
    ("", ""),
])
def test_a_reason_is_the_servers_reply_in_short(last_error, shown):
    assert failure_reason(last_error) == shown


def test_a_reason_never_shows_a_link_or_a_token():
    token = "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6"
    reason = failure_reason(repr(ValueError(f"spam filter: https://cx.example.com/s/{token}/ and {token}")))
    assert reason == "ValueError: spam filter: <link> and …"


def test_the_survey_page_says_why_each_invitation_failed(smtp_server, client):
    # A policy refusal: failed (an unknown address, 5.1.1, is bounced: see the batch faults below).
    smtp_server({"gone@x.test": ["550 5.7.1 Rejected by policy"]})
    survey = SurveyFactory(expiry_days=10)
    for email in ("gone@x.test", "fine@x.test"):
        InvitationFactory(survey=survey, customer=CustomerFactory(email=email), state=InvitationState.QUEUED,
                          sent_at=None, expires_at=None)

    sending.send_batch()
    page = survey_page(client, survey)

    assert '<div class="muted failure-reason">550 5.7.1 Rejected by policy</div>' in page  # the failed row
    assert "<li>550 5.7.1 Rejected by policy: 1</li>" in page  # the summary
    assert page.count("failure-reason\"") == 1  # the sent row shows none


def test_the_summary_merges_one_reply_to_many_addresses_in_one_query(django_assert_num_queries):
    survey = SurveyFactory()
    for n in range(3):
        failed(survey, refused(f"gone{n}@x.test", f"5.1.1 <gone{n}@x.test>: User unknown".encode()))
    failed(survey, repr(smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials")))
    failed(survey, sending.INTERRUPTED)  # counted on its own on the page
    InvitationFactory(survey=survey, state=InvitationState.QUEUED, last_error=refused("a@x.test", b"4.2.2 Full", 452))

    with django_assert_num_queries(1):
        reasons = survey_failure_summary(survey).reasons

    assert reasons == [("550 5.1.1 <address>: User unknown", 3), ("535 5.7.8 Bad credentials", 1)]


def test_the_page_makes_no_query_per_failed_invitation(client):
    survey = SurveyFactory()
    failed(survey, refused("a@x.test", b"5.1.1 User unknown"))
    survey_page(client, survey)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("surveys:survey-detail", args=[survey.pk])).status_code == 200
        return len(context)

    few = queries()
    for n in range(4):
        failed(survey, refused(f"b{n}@x.test", f"5.1.{n} Nope".encode()))
    assert queries() == few


def test_a_reason_on_the_page_is_escaped_and_never_names_the_address(client):
    survey = SurveyFactory()
    failed(survey, refused("hidden@x.test", b"5.7.1 <script>alert(1)</script> hidden@x.test"),
           customer=CustomerFactory(email="hidden@x.test"))

    page = survey_page(client, survey)

    assert "5.7.1 &lt;script&gt;alert(1)&lt;/script&gt; &lt;address&gt;" in page
    assert "<script>alert" not in page
    assert "hidden@x.test" not in page


def test_an_anonymous_surveys_page_counts_the_reasons_and_names_nobody(client):
    survey = SurveyFactory(anonymous=True)
    failed(survey, refused("a@x.test", b"5.1.1 User unknown"), customer=CustomerFactory(external_id="ANON-1"))
    failed(survey, refused("b@x.test", b"5.1.1 User unknown"), customer=CustomerFactory(external_id="ANON-2"))

    page = survey_page(client, survey)

    assert "<li>550 5.1.1 User unknown: 2</li>" in page
    assert "ANON-" not in page and "@x.test" not in page


def test_the_api_gives_a_failed_or_bounced_invitations_reason_and_nothing_else(api_client_as):
    survey = SurveyFactory()
    rows = {
        "failed": failed(survey, refused("a@x.test", b"5.1.1 User unknown")),
        "bounced": InvitationFactory(survey=survey, state=InvitationState.BOUNCED,
                                     last_error="sendgrid: bounced 550 5.1.1 no such user"),
        "queued": InvitationFactory(survey=survey, state=InvitationState.QUEUED,
                                    last_error=refused("a@x.test", b"4.2.2 Full", 452)),
        "sent": InvitationFactory(survey=survey, state=InvitationState.SENT),
    }

    body = api_client_as("analyst").get(reverse("api-invitation-list"), {"survey": survey.pk}).json()

    shown = {item["id"]: item["failure_reason"] for item in body["results"]}
    assert {state: shown[row.pk] for state, row in rows.items()} == {
        "failed": "550 5.1.1 User unknown", "bounced": "sendgrid: bounced 550 5.1.1 no such user",
        "queued": "", "sent": "",
    }


def test_the_api_gives_no_reason_for_an_anonymous_surveys_interrupted_invitation(api_client_as):
    """It reads "delivered" (its link may have been answered): a reason would tell it from the answered."""
    survey = SurveyFactory(anonymous=True)
    interrupted = failed(survey, sending.INTERRUPTED)
    answered = InvitationFactory(survey=survey, state=InvitationState.RESPONDED, last_error=sending.INTERRUPTED)

    body = api_client_as("admin").get(reverse("api-invitation-list"), {"survey": survey.pk}).json()

    shown = {item["id"]: (item["state"], item["failure_reason"]) for item in body["results"]}
    assert shown == {interrupted.pk: ("delivered", ""), answered.pk: ("delivered", "")}


def test_a_quoted_local_part_is_hidden_too():
    error = repr(smtplib.SMTPRecipientsRefused({'"jo smith"@x.com': (550, b'5.1.1 <"jo smith"@x.com>: unknown')}))

    assert "jo smith" not in failures.failure_reason(error)


def test_the_page_reads_only_the_latest_failures_and_says_so(client_as, monkeypatch):
    # A relay refusing a whole audience quotes each address: one reason per row to work out, on
    # every view of the page, however many failed.
    monkeypatch.setattr(failures, "SUMMARY_SAMPLE", 3)
    survey = SurveyFactory()
    for n in range(5):
        InvitationFactory(survey=survey, state=InvitationState.FAILED, last_error=repr(
            smtplib.SMTPRecipientsRefused({f"c{n}@x.test": (550, b"5.7.1 Relaying denied")})))

    page = client_as("analyst").get(reverse("surveys:survey-detail", args=[survey.pk])).text

    assert "(of the latest 3 failures)" in page and "550 5.7.1 Relaying denied: 3" in page
