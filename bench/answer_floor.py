"""Diagnostic: what the answer POST costs in one process, part by part, beside a hand-written floor.

    python bench/answer_floor.py [--invitations 6000] [--repeat 3]

bench/answer_load.py measures the POST under load; this script asks how fast it could get at all.
It makes its own database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/cx_bench_answer_floor) with the same data as answer_load.py,
then times, in this process with Django's test client and every request on a fresh token:

- the trivial view (the middleware stack and one `SELECT 1`), the answer page GET and the POST
  (up to its 303 to the thank-you page, which is not followed);
- the POST's own parts: the per-IP rate limiter, the token lookup, the answer's transaction;
- a floor no Django code path reaches: the lookup as one hand-written SELECT, and the whole write
  (claim the invitation, insert the response and its history row) as ONE hand-written SQL
  statement committed on its own. It skips the ORM, simple-history and the detractor alert.

The bound printed last adds the floor's parts to the trivial view: even a POST made of nothing
but those would be that fraction of the trivial view in one process (the load test's target is 0.6).
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import answer_load  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_answer_floor"

LOOKUP_SQL = """
SELECT i.id, i.survey_id, i.customer_id, i.state, i.responded_at, i.expires_at, i.touchpoint,
       i.language, s.question, s.reason_prompt, s.improve_prompt, s.language, c.language,
       c.segment, c.survey_opt_out
  FROM surveys_invitation i
  JOIN surveys_survey s ON s.id = i.survey_id
  JOIN accounting_customer c ON c.id = i.customer_id
 WHERE i.token_hash = %s AND i.state <> 'suppressed'
 LIMIT 1
"""

WRITE_SQL = """
WITH claimed AS (
  UPDATE surveys_invitation SET state = 'responded', responded_at = %(now)s
   WHERE id = %(id)s AND responded_at IS NULL AND state NOT IN ('responded', 'expired')
     AND (expires_at IS NULL OR expires_at > %(now)s)
  RETURNING id, survey_id, customer_id, touchpoint
), answer AS (
  INSERT INTO surveys_response (score, category, reason, suggestion, answered_at, updated_at,
         touchpoint, segment, language, source, follow_up_note, customer_id, invitation_id,
         survey_id, alert_due)
  SELECT %(score)s, %(category)s, %(reason)s, '', %(now)s, %(now)s, touchpoint, %(segment)s,
         %(language)s, 'web', '', customer_id, id, survey_id, false
    FROM claimed
  RETURNING *
), history AS (
  INSERT INTO surveys_historicalresponse (id, score, category, reason, suggestion, answered_at,
         updated_at, touchpoint, segment, language, source, follow_up_note, customer_id,
         invitation_id, survey_id, history_date, history_type)
  SELECT id, score, category, reason, suggestion, answered_at, updated_at, touchpoint, segment,
         language, source, follow_up_note, customer_id, invitation_id, survey_id, %(now)s, '+'
    FROM answer
)
SELECT id FROM answer
"""


def per_call_ms(function, items) -> float:
    started = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - started) / len(items) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitations", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median of each figure is shown")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    opts = parser.parse_args()
    per_round = opts.invitations // (6 * opts.repeat) - 1  # six consumers of fresh tokens per round
    if per_round < 50:
        raise SystemExit("--invitations too small for --repeat")

    env = answer_load.bench_env(opts.database_url)
    tokens = answer_load.setup_database(opts.database_url, opts.invitations, env).read_text().split()
    os.environ.update(env)
    os.environ["ALLOWED_HOSTS"] += ",testserver"
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client, RequestFactory
    from django.utils import timezone

    from cxplatform.token_pages import over_public_limit
    from surveys.models import category_for, hash_token
    from surveys.responses import invitation_find, response_submit

    client = Client()
    factory = RequestFactory()
    fresh = iter(tokens)

    def take(count: int) -> list[str]:
        return [next(fresh) for _ in range(count)]

    def post(token: str) -> None:
        score = random.randint(0, 10)  # as the load test: about half are detractors (an alert each)
        response = client.post(f"/s/{token}/", {"score": score, "reason": f"Benchmark reason {score}"})
        assert response.status_code == 303, response.status_code  # stored: off to the thank-you page

    def page(token: str) -> None:
        assert client.get(f"/s/{token}/?score=9").status_code == 200

    def trivial(_) -> None:
        assert client.get("/bench/trivial").status_code == 200

    def submit(invitation) -> None:
        score = random.randint(0, 10)
        response_submit(invitation=invitation, score=score, reason=f"Benchmark reason {score}")

    def raw_lookup(token: str) -> tuple:
        with connection.cursor() as cursor:
            cursor.execute(LOOKUP_SQL, [hash_token(token)])
            return cursor.fetchone()

    def raw_write(row: tuple) -> None:
        score = random.randint(0, 10)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(WRITE_SQL, {
                "now": timezone.now(), "id": row[0], "score": score, "category": category_for(score),
                "reason": f"Benchmark reason {score}", "segment": row[13], "language": row[7] or "en",
            })
            assert cursor.fetchone() is not None, "the invitation was not open"

    rate_request = factory.get("/s/x/", REMOTE_ADDR="127.0.0.9")
    trivial(None), page(tokens[-1])  # warm the templates, the connection and the broker
    figures: dict[str, list[float]] = {}
    for _ in range(opts.repeat):
        found = [invitation_find(token) for token in take(per_round)]
        looked_up = [raw_lookup(token) for token in take(per_round)]
        measured = {
            "trivial view (middleware + SELECT 1)": per_call_ms(trivial, range(per_round)),
            "answer page GET": per_call_ms(page, take(per_round)),
            "answer POST": per_call_ms(post, take(per_round)),
            "  rate limiter (Redis)": per_call_ms(lambda _: over_public_limit(rate_request), range(per_round)),
            "  token lookup (ORM)": per_call_ms(invitation_find, take(per_round)),
            "  answer transaction (ORM, history, alert)": per_call_ms(submit, found),
            "floor: lookup, one hand-written SELECT": per_call_ms(raw_lookup, take(per_round)),
            "floor: write, one hand-written statement": per_call_ms(raw_write, looked_up),
        }
        for name, value in measured.items():
            figures.setdefault(name, []).append(value)

    median = {name: statistics.median(values) for name, values in figures.items()}
    print(f"in one process, ms per request or call (median of {opts.repeat} rounds of {per_round}):")
    for name, value in median.items():
        print(f"  {name:45s} {value:6.2f}")
    trivial_ms = median["trivial view (middleware + SELECT 1)"]
    floor_ms = (trivial_ms + median["  rate limiter (Redis)"] + median["floor: lookup, one hand-written SELECT"]
                + median["floor: write, one hand-written statement"])
    print(f"answer POST / trivial view in one process: {trivial_ms / median['answer POST']:.2f}")
    print(f"a POST of nothing but the trivial view, the rate limiter and the floor's lookup and write "
          f"({floor_ms:.2f} ms, no form, no page): at most {trivial_ms / floor_ms:.2f} of the trivial view")


if __name__ == "__main__":
    main()
