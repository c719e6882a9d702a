"""Benchmark: the staff responses CSV export (`/responses/export.csv`) over 300,000 answers.

Each run in its own process (so its peak memory is its own), through Django's test client as an
analyst, the streamed body read to the end as a browser would:
  1. the floor: the export's own SELECT alone (same joins, filter and order), its rows fetched
     through a server-side cursor in chunks of 2,000 and dropped;
  2. the export itself: the view, `response_export_rows` and `csv_response`.
It prints rows/s, seconds, peak RSS and the SHA-256 of the body: run it from a tree with other
export code against the same database, and equal digests say the two wrote the same bytes.

    python bench/export_csv.py [--responses 300000] [--repeat 3] [--regenerate]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cx_bench_export, kept
between runs and made again when its data is missing, made under older migrations, or
--regenerate. Data is generated inside PostgreSQL with INSERT ... SELECT over generate_series:
50,000 customers (names with accents, CJK and formula-looking ones), four surveys (one anonymous),
one invitation per answer, answers over 2023-2025 with reasons and suggestions that are empty,
accented, formula-looking or multi-line, one in ten followed up. TIME_ZONE is Europe/Paris, so
every time is converted.
"""

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bulk_load import drop_secondary  # bench/ is the script's own folder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_export"
CUSTOMERS = 50_000
TIME_ZONE = "Europe/Paris"
EXPORT_URL = "/responses/export.csv"
USER_ID = 900_001  # the analyst who follows answers up and downloads the export

CUSTOMERS_SQL = """
INSERT INTO accounting_customer (id, external_id, name, email, language, segment, reason_text, reason_source,
    survey_opt_out, created_at, updated_at, entity_id)
SELECT g, 'C' || g,
    (ARRAY['Customer ', 'Zoë Ünal ', '日本 商事 ', '=HYPERLINK("http://x") ', '-Minus ', 'Plain "quoted", '])
        [1 + g %% 6] || g,
    'c' || g || '@example.com', 'en', (ARRAY['SMB', 'Mid-market', 'Enterprise', 'Consumer'])[1 + g %% 4], '', '',
    false, now(), now(), g
FROM generate_series(1, %(customers)s) g
"""
SURVEYS_SQL = """
INSERT INTO surveys_survey (id, name, kind, status, question, reason_prompt, improve_prompt, sender_name,
    sender_email, language, anonymous, expiry_days, throttle_days, audience, audience_segment, alert_webhook_url,
    imported, created_at, updated_at)
SELECT g, (ARRAY['Relationship 2025', 'Enquête été', '+Support desk', 'Anonymous pulse'])[g],
    CASE WHEN g <= 2 THEN 'relationship' ELSE 'transactional' END, 'active', 'q', '', '', '', '', '',
    g = 4, 30, 90, 'all', '', '', false, now(), now()
FROM generate_series(1, 4) g
"""
USER_SQL = """
INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
    date_joined)
VALUES (%(user)s, '!', false, 'bench-analyst', 'Bench', 'Analyst', 'analyst@example.com', false, true, now())
"""
INVITATIONS_SQL = """
INSERT INTO surveys_invitation (id, survey_id, customer_id, email, language, token_salt, token_hash, touchpoint,
    reference, segment, state, suppression_reason, send_after, sent_at, attempts, last_error, message_id, created_at,
    responded_at, expires_at)
SELECT g, 1 + g %% 4, customer_id, '', 'en', md5(g::text), md5(g::text) || md5('x' || g),
    (ARRAY['', 'web shop', '-phone', 'Boutique Montréal'])[1 + g %% 4], '',
    (ARRAY['SMB', 'Mid-market', 'Enterprise', 'Consumer'])[1 + customer_id %% 4], 'responded', '', at, at, 1, '', '',
    at, at + interval '1 day', at + interval '30 days'
FROM (SELECT g, 1 + (g::bigint * 7919) %% %(customers)s AS customer_id,
          timestamptz '2023-01-01 00:00+00' + (random() * 1094) * interval '1 day' AS at
      FROM generate_series(1, %(responses)s) g) s
"""
# Half the times carry microseconds, half are whole seconds (isoformat writes those without).
RESPONSES_SQL = """
INSERT INTO surveys_response (invitation_id, survey_id, customer_id, score, category, reason, suggestion, answered_at,
    updated_at, touchpoint, segment, language, source, followed_up_at, followed_up_by_id, follow_up_note, alert_due)
SELECT i.id, i.survey_id, i.customer_id, s.score,
    CASE WHEN s.score >= 9 THEN 'promoter' WHEN s.score >= 7 THEN 'passive' ELSE 'detractor' END,
    (ARRAY['', 'Great service, fast delivery', 'Très bien — merci ☺', '=1+1', E'Two lines:\nsaid "ok"', '@mention'])
        [1 + i.id %% 6],
    (ARRAY['', 'Cheaper shipping', '日本語のサポート', '+more options'])[1 + i.id %% 4],
    s.at, s.at, i.touchpoint, i.segment, 'en', (ARRAY['web', 'import', 'api'])[1 + i.id %% 3],
    CASE WHEN i.id %% 10 = 0 THEN s.at + interval '3 hours 7 minutes' END,
    CASE WHEN i.id %% 10 = 0 THEN %(user)s END,
    CASE WHEN i.id %% 10 = 0 THEN 'Called back; refund offered' ELSE '' END, false
FROM surveys_invitation i,
    LATERAL (SELECT (ARRAY[0,1,2,3,4,5,6,6,7,7,7,8,8,8,8,9,9,9,9,10,10,10])[1 + floor(random() * 22)::int + 0 * i.id]
                 AS score,
             CASE WHEN i.id %% 2 = 0 THEN date_trunc('second', i.responded_at) ELSE i.responded_at END AS at) s
ORDER BY i.responded_at
"""


def django_env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING", "TIME_ZONE": TIME_ZONE,
            "ALLOWED_HOSTS": "testserver", "DEBUG": "0", "SECRET_KEY": "bench-" + "x" * 50, "READ_DOTENV": "0",
            "DJANGO_SETTINGS_MODULE": "cxplatform.settings"}


def prepare(url: str, responses: int, regenerate: bool) -> None:
    import psycopg

    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    env = django_env(url)
    if exists and not regenerate:
        current = subprocess.run([sys.executable, "manage.py", "migrate", "--check"], env=env, cwd=ROOT,
                                 capture_output=True).returncode == 0
        if current:
            with psycopg.connect(url) as conn:
                count = conn.execute("SELECT count(*) FROM surveys_response").fetchone()[0]
            if count == responses:
                print(f"reusing {count:,} responses in {name}")
                return
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT,
                   stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    params = {"customers": CUSTOMERS, "responses": responses, "user": USER_ID}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        rebuild = drop_secondary(conn, ("surveys_invitation", "surveys_response"))
        for label, sql in (("customers", CUSTOMERS_SQL), ("surveys", SURVEYS_SQL), ("user", USER_SQL),
                           ("invitations", INVITATIONS_SQL), ("responses", RESPONSES_SQL)):
            t = time.perf_counter()
            conn.execute(sql, params)
            print(f"  {label}: {time.perf_counter() - t:.1f} s", flush=True)
        for statement in rebuild:
            conn.execute(statement)
        conn.execute("VACUUM ANALYZE")
    print(f"generated {responses:,} responses in {time.perf_counter() - started:.1f} s")


def child(step: str) -> None:
    """Run one measured step in this process and print its figures as JSON."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.test import Client

    analyst = User.objects.get(pk=USER_ID)
    analyst.groups.add(Group.objects.get(name="analyst"))
    client = Client()
    client.force_login(analyst)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if step == "floor":
        rows, digest, size = _select_only(), "", 0
    else:
        rows, digest, size = _download(client)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"step": step, "rows": rows, "seconds": seconds, "sha256": digest, "mib": size / 2**20,
                      "peak_rss_mib": peak / 1024, "rss_before_mib": rss_before / 1024}))


def _download(client) -> tuple[int, str, int]:
    response = client.get(EXPORT_URL)
    assert response.status_code == 200, response.status_code
    digest, size, lines = hashlib.sha256(), 0, 0
    for chunk in response.streaming_content:
        digest.update(chunk)
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    return lines - 1, digest.hexdigest(), size  # "\r\n" ends each row; a text cell holds only "\n"


def _select_only() -> int:
    """The export's query, as its SQL, read to the end and thrown away: what the database costs."""
    from django.db import connection, transaction

    from surveys.selectors import response_list

    sql, params = response_list().values_list(
        "answered_at", "survey__name", "survey__kind", "survey__anonymous", "score", "category",
        "customer__external_id", "customer__name", "touchpoint", "segment", "reason", "suggestion", "source",
        "followed_up_at", "follow_up_note").query.sql_with_params()
    rows = 0
    with transaction.atomic(), connection.connection.cursor(name="bench_floor") as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            rows += len(batch)
    return rows


def run_child(step: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", step], env=env, capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    prepare(url, args.responses, args.regenerate)
    env = django_env(url)
    runs = {"floor": [], "export": []}
    for _ in range(args.repeat):
        for step, results in runs.items():
            results.append(run_child(step, env))
    print(f"\n{'step':<36}{'rows':>10}{'median s':>10}{'rows/s':>10}{'peak RSS MiB':>14}{'RSS growth':>12}")
    labels = {"floor": "the SELECT alone (floor)", "export": "GET /responses/export.csv"}
    for step, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        peak = max(r["peak_rss_mib"] for r in results)
        growth = max(r["peak_rss_mib"] - r["rss_before_mib"] for r in results)
        print(f"{labels[step]:<36}{results[0]['rows']:>10,}{seconds:>10.2f}{results[0]['rows'] / seconds:>10,.0f}"
              f"{peak:>14.0f}{growth:>12.0f}")
    export = runs["export"]
    digests = {r["sha256"] for r in export}
    assert len(digests) == 1, f"the export differed between runs: {digests}"
    assert export[0]["rows"] == args.responses, f"{export[0]['rows']:,} rows exported, {args.responses:,} expected"
    seconds = statistics.median(r["seconds"] for r in export)
    print(f"\n{export[0]['mib']:.1f} MiB of CSV; sha256 {export[0]['sha256']}; "
          f"export / floor: {seconds / statistics.median(r['seconds'] for r in runs['floor']):.1f}x; "
          f"3,000,000 answers at this rate: about {3_000_000 * seconds / args.responses:.0f} s")


if __name__ == "__main__":
    main()
