"""Benchmark: the staff NPS dashboard for a year of 150,000 answers (SPEC §5).

The page as a browser gets it (Django's test client, a logged-in superuser, templates rendered),
warm, each period repeated (best and median): its time, its number of SQL statements, the time
spent in SQL and the slowest statements; then the API's headline for the same period.

    python bench/nps_dashboard.py [--period 2025 --period 2025-Q2 ...] [--repeat 3] [--regenerate]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cx_bench_nps_dashboard
(dropped and recreated when the data is missing or --regenerate). Data is generated inside
PostgreSQL with INSERT ... SELECT over generate_series, as the scale audit made it: 100,000
customers in four segments (one in five referred), 1,000,000 ledger lines over 2023-2025, four
surveys (three relationship, one transactional), 300,000 invitations in 2025 on four
touchpoints, every other one answered (150,000 answers), with verbatims.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bulk_load import database_reused, generate  # bench/ is the script's own folder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_nps_dashboard"
CUSTOMERS = 100_000
LEDGER_LINES = 1_000_000
INVITATIONS = 300_000  # every other one answered: 150,000 answers in 2025
SLOWEST = 6  # statements listed per period

DATA_SQL = {
    "customers": """
    INSERT INTO accounting_customer (id, external_id, name, email, language, segment, acquired_on, reason_text,
        reason_source, survey_opt_out, created_at, updated_at, parent_id, entity_id, referred_by_id)
    SELECT g, 'Z' || g, 'Customer ' || g, 'z' || g || '@example.com', 'en',
        (ARRAY['SMB', 'Mid-market', 'Enterprise', ''])[1 + g %% 4], date '2024-01-01' + (g %% 700), '', '',
        false, now(), now(), NULL, g, CASE WHEN g %% 5 = 0 AND g > 100 THEN g %% 100 + 1 END
    FROM generate_series(1, %(customers)s) g
    """,
    "ledger": """
    INSERT INTO accounting_revenueentry (customer_id, date, amount, external_ref, product, created_at)
    SELECT 1 + (g::bigint * 7919) %% %(customers)s, date '2023-01-01' + (g %% 1000), 10 + g %% 500, 'ZR' || g,
        'Plan', now()
    FROM generate_series(1, %(ledger)s) g
    """,
    "surveys": """
    INSERT INTO surveys_survey (id, name, kind, status, question, reason_prompt, improve_prompt, sender_name,
        sender_email, language, anonymous, expiry_days, throttle_days, audience, audience_segment,
        alert_webhook_url, imported, created_at, updated_at)
    SELECT g, 'Scale survey ' || g, CASE WHEN g <= 3 THEN 'relationship' ELSE 'transactional' END,
        'active', 'q', '', '', '', '', '', false, 30, 90, 'all', '', '', false, now(), now()
    FROM generate_series(1, 4) g
    """,
    "invitations": """
    INSERT INTO surveys_invitation (id, survey_id, customer_id, email, language, token_salt, token_hash, touchpoint,
        reference, segment, state, suppression_reason, send_after, sent_at, attempts, last_error, message_id,
        created_at, responded_at, expires_at)
    SELECT g, 1 + g %% 4, 1 + (g - 1) %% %(customers)s, '', 'en', md5(g::text),
        md5(g::text) || md5('x' || g), (ARRAY['', 'web shop', 'phone', 'store'])[1 + g %% 4], '',
        (ARRAY['SMB', 'Mid-market', 'Enterprise', ''])[1 + g %% 4],
        CASE WHEN g %% 2 = 0 THEN 'responded' ELSE 'sent' END, '', at, at, 1, '', '', at,
        CASE WHEN g %% 2 = 0 THEN at + interval '1 day' END, at + interval '30 days'
    FROM (SELECT g, timestamptz '2025-01-01 00:00+00' + ((g %% 360) || ' days')::interval AS at
          FROM generate_series(1, %(invitations)s) g) s
    """,
    "responses": """
    INSERT INTO surveys_response (invitation_id, survey_id, customer_id, score, category, reason, suggestion,
        answered_at, updated_at, touchpoint, segment, language, source, follow_up_note, alert_due)
    SELECT i.id, i.survey_id, i.customer_id, s.score,
        CASE WHEN s.score >= 9 THEN 'promoter' WHEN s.score >= 7 THEN 'passive' ELSE 'detractor' END,
        (ARRAY['', 'Great service, fast delivery', 'Slow support', 'price too high'])[1 + i.id %% 4],
        (ARRAY['', 'Cheaper shipping', 'more options'])[1 + i.id %% 3],
        i.responded_at, i.responded_at, i.touchpoint, i.segment, 'en', 'web', '', false
    FROM surveys_invitation i, LATERAL (SELECT (i.id * 37 + 3) %% 11 AS score) s
    WHERE i.state = 'responded'
    """,
}


def setup_django(url: str) -> None:
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="cxplatform.settings", CX_TESTING="1",
                      LOG_LEVEL="WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(url: str, regenerate: bool) -> None:
    if database_reused(url, responses=INVITATIONS // 2, root=ROOT, regenerate=regenerate):
        return
    started = time.perf_counter()
    params = {"customers": CUSTOMERS, "ledger": LEDGER_LINES, "invitations": INVITATIONS}
    generate(url, DATA_SQL.items(), params, ("accounting_revenueentry", "surveys_invitation", "surveys_response"))
    print(f"generated {INVITATIONS // 2:,} responses, {LEDGER_LINES:,} ledger lines in "
          f"{time.perf_counter() - started:.1f} s")


def _client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-nps-dashboard", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    return client


def measure(client, url: str) -> tuple[float, list[dict]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, ctx.captured_queries


def _one_line(sql: str, width: int = 100) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", action="append", help="a period to open (repeatable); default 2025")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    prepare(url, args.regenerate)
    setup_django(url)
    client = _client()
    client.get("/reports/nps/?period=2025-01")  # warm the caches (templates, permissions)

    print(f"\n{'request':<42}{'best s':>8}{'median s':>10}{'queries':>9}{'SQL s':>8}")
    slowest = {}
    for period in args.period or ["2025"]:
        for label, path in ((f"page /reports/nps/?period={period}", f"/reports/nps/?period={period}"),
                            (f"API /api/reports/nps/?period={period}", f"/api/reports/nps/?period={period}")):
            times, runs = [], []
            for _ in range(args.repeat):
                elapsed, queries = measure(client, path)
                times.append(elapsed)
                runs.append(queries)
            best = runs[times.index(min(times))]
            sql_time = sum(float(query["time"]) for query in best)
            print(f"{label:<42}{min(times):>8.2f}{statistics.median(times):>10.2f}{len(best):>9}{sql_time:>8.2f}")
            if label.startswith("page"):
                slowest[period] = sorted(best, key=lambda query: -float(query["time"]))[:SLOWEST]
    for period, queries in slowest.items():
        print(f"\nslowest statements of the page for {period} (best run):")
        for query in queries:
            print(f"  {float(query['time']):6.2f} s  {_one_line(query['sql'])}")


if __name__ == "__main__":
    main()
