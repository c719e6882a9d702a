"""Why invitations failed, as staff read it: a short, single-line form of `Invitation.last_error`.

`last_error` holds what the sender caught (`repr` of the exception: an SMTP reply's code and bytes,
with the refused address) or an ESP webhook's bounce detail. Staff see only the reply: the code and
its text, one line, no address, link or token-like string (a server may quote them back), so the
reason never names who was invited, an anonymous survey's failures included.
"""

import ast
import re
from collections import Counter
from dataclasses import dataclass

from .models import Invitation, InvitationState, Survey
from .selectors import invitation_state_shown
from .sending import INTERRUPTED

REASON_MAX_CHARS = 160
SUMMARY_REASONS = 5
# The latest failures the survey page's summary reads: a page view costs the same however many failed.
SUMMARY_SAMPLE = 1000
NO_REASON = "no reason recorded"
# The states whose `last_error` says why the invitation did not arrive (a queued row's is a retry's).
FAILED_STATES_SHOWN = (InvitationState.FAILED, InvitationState.BOUNCED)

# An SMTP reply in an exception's repr: `(550, b'5.1.1 User unknown')`, one per refused recipient.
SMTP_REPLY = re.compile(r"\(\s*(?P<code>[2-5]\d\d),\s*(?P<text>b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\")")
# Any other exception's repr: `ConnectionRefusedError(111, 'Connection refused')` (cut at 2,000 characters).
EXCEPTION_REPR = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)\((?P<args>.*?)\)?$", re.DOTALL)
QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
LINK = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.IGNORECASE)
# The local part plain or quoted ("jo smith"@x.com is a valid address too).
ADDRESS = re.compile(r"<?(?:\"[^\"]*\"|[^\s<>()\[\],;:'\"@]+)@[^\s<>()\[\],;:'\"]+>?")
# A link token is 43 URL-safe characters; queue ids and hashes are hidden with it, at no loss.
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-+/=]{32,}")


def failure_reason(last_error: str) -> str:
    """The reason in short: "550 5.1.1 User unknown", "ConnectionRefusedError: Connection refused"."""
    if not last_error:
        return ""
    replies = [f"{match['code']} {_decoded(match['text'])}" for match in SMTP_REPLY.finditer(last_error)]
    if not replies:
        return _cleaned(_exception_text(last_error))
    return _cleaned("; ".join(dict.fromkeys(replies)))  # one per distinct reply, not one per recipient


def invitation_failure_reason(invitation: Invitation) -> str:
    """Why the row failed or bounced, as its state is shown: an anonymous survey's interrupted row
    reads "delivered" (its link may have been answered), so it shows no reason either."""
    if invitation_state_shown(invitation) not in FAILED_STATES_SHOWN:
        return ""
    return failure_reason(invitation.last_error) or NO_REASON


def _decoded(literal: str) -> str:
    try:
        return ast.literal_eval(literal).decode("utf-8", "replace")
    except (ValueError, SyntaxError):
        return literal[2:-1]


def _exception_text(last_error: str) -> str:
    match = EXCEPTION_REPR.match(last_error.strip())
    if match is None:
        return last_error  # plain text: a bounce's detail, the sweeper's "interrupted"
    strings = [single or double for single, double in QUOTED.findall(match["args"])]
    detail = " ".join(_unescaped(string) for string in strings)
    return f"{match['name']}: {detail}" if detail else match["name"]


def _unescaped(string: str) -> str:
    try:
        value = ast.literal_eval(f"'{string}'")
    except (ValueError, SyntaxError):
        return string
    return value if isinstance(value, str) else string  # "a', 'b" evaluates to a tuple


def _cleaned(text: str) -> str:
    text = LINK.sub("<link>", text)
    text = ADDRESS.sub("<address>", text)
    text = TOKEN_LIKE.sub("…", text)
    text = " ".join(text.split())  # one line
    if len(text) > REASON_MAX_CHARS:
        text = text[: REASON_MAX_CHARS - 1].rstrip() + "…"
    return text


@dataclass(frozen=True)
class FailureSummary:
    reasons: list[tuple[str, int]]  # the most common first, SUMMARY_REASONS at most
    sampled: bool  # more failed rows than were read: the counts are of the latest `sample`
    sample: int


def survey_failure_summary(survey: Survey) -> FailureSummary:
    """The most common reasons of the survey's latest failed invitations (SUMMARY_SAMPLE of them),
    with their counts: one query. Not grouped in SQL: a refusal quotes each row's own address, so a
    relay refusing a whole audience is one group per row. Interrupted rows are left out: the page
    counts them on their own."""
    errors = list(
        survey.invitations.filter(state=InvitationState.FAILED)
        .exclude(last_error=INTERRUPTED)
        .order_by("-pk")
        .values_list("last_error", flat=True)[: SUMMARY_SAMPLE + 1]
    )
    counts = Counter(failure_reason(error) or NO_REASON for error in errors[:SUMMARY_SAMPLE])
    reasons = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:SUMMARY_REASONS]
    return FailureSummary(reasons, sampled=len(errors) > SUMMARY_SAMPLE, sample=SUMMARY_SAMPLE)
