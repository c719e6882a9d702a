"""Benchmark: monthly NPS with margins over 5,000,000 responses in three years (SPEC §5).

Side by side in one run, warm, each repeated (best and median), interleaved:
  (a) `reports.nps.nps_trend`: monthly NPS of the relationship series, all surveys, 36 months;
  (b) the floor: ONE hand-written SQL query computing the same counts per month;
  (c) `reports.nps.nps_trend_by(by="segment")`: the same per segment (36 months x 4 segments);
  (d) the floor for (c), grouped by month and segment.
The margins and intervals come from the counts in Python (microseconds); (a) and (b), (c) and (d)
are checked to give the same counts.

    python bench/nps.py [--responses 5000000] [--repeat 5] [--regenerate]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cx_bench_nps (dropped
and recreated when the data is missing or --regenerate). Data is generated inside PostgreSQL with
INSERT ... SELECT over generate_series: 200,000 customers in four segments, six surveys (four
relationship, two transactional), one invitation per response plus 40% more invitations left
unanswered, scores drawn 0-10, answers spread over 2023-2025.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bulk_load import database_reused, generate  # bench/ is the script's own folder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_nps"
SEGMENTS = ("SMB", "Mid-market", "Enterprise", "Consumer")
CUSTOMERS = 200_000
FIRST_YEAR = 2023

CUSTOMERS_SQL = """
INSERT INTO accounting_customer (id, external_id, name, email, language, segment, reason_text, reason_source,
    survey_opt_out, created_at, updated_at, entity_id)
SELECT g, 'C' || g, 'Customer ' || g, 'c' || g || '@example.com', 'en',
    (ARRAY['SMB', 'Mid-market', 'Enterprise', 'Consumer'])[1 + g %% 4], '', '', false, now(), now(), g
FROM generate_series(1, %(customers)s) g
"""
SURVEYS_SQL = """
INSERT INTO surveys_survey (id, name, kind, status, question, reason_prompt, improve_prompt, sender_name,
    sender_email, language, anonymous, expiry_days, throttle_days, audience, audience_segment, alert_webhook_url,
    imported, created_at, updated_at)
SELECT g, 'Survey ' || g, CASE WHEN g <= 4 THEN 'relationship' ELSE 'transactional' END, 'active', 'q', '', '',
    '', '', '', false, 30, 90, 'all', '', '', false, now(), now()
FROM generate_series(1, 6) g
"""
# One invitation per planned answer (g <= responses) and 40% more left unanswered.
INVITATIONS_SQL = """
INSERT INTO surveys_invitation (id, survey_id, customer_id, email, language, token_salt, token_hash, touchpoint,
    reference, segment, state, suppression_reason, send_after, sent_at, attempts, last_error, message_id, created_at,
    responded_at, expires_at)
SELECT g, 1 + g %% 6, customer_id, '', 'en', md5(g::text),
    md5(g::text) || md5('x' || g), '', '', (ARRAY['SMB', 'Mid-market', 'Enterprise', 'Consumer'])[1 + customer_id %% 4],
    CASE WHEN g <= %(responses)s THEN 'responded' ELSE 'sent' END,
    '', at, at, 1, '', '', at,
    CASE WHEN g <= %(responses)s THEN at + interval '1 day' END, at + interval '30 days'
FROM (SELECT g, 1 + (g::bigint * 7919) %% %(customers)s AS customer_id,
          timestamptz '2023-01-01 00:00+00' + (random() * 1094) * interval '1 day' AS at
      FROM generate_series(1, %(invitations)s) g) s
"""
RESPONSES_SQL = """
INSERT INTO surveys_response (invitation_id, survey_id, customer_id, score, category, reason, suggestion, answered_at,
    updated_at, touchpoint, segment, language, source, follow_up_note, alert_due)
SELECT i.id, i.survey_id, i.customer_id, s.score,
    CASE WHEN s.score >= 9 THEN 'promoter' WHEN s.score >= 7 THEN 'passive' ELSE 'detractor' END,
    '', '', i.responded_at, i.responded_at, '',
    i.segment, 'en', 'web', '', false
FROM surveys_invitation i,
    LATERAL (SELECT (ARRAY[0,1,2,3,4,5,6,6,7,7,7,8,8,8,8,9,9,9,9,10,10,10])[1 + floor(random() * 22)::int + 0 * i.id]
             AS score) s
WHERE i.state = 'responded'
ORDER BY i.responded_at
"""

FLOOR_SQL = """
SELECT date_trunc('month', r.answered_at AT TIME ZONE 'UTC') AS month, {group}
    count(*) AS responses,
    count(*) FILTER (WHERE r.category = 'promoter') AS promoters,
    count(*) FILTER (WHERE r.category = 'passive') AS passives,
    count(*) FILTER (WHERE r.category = 'detractor') AS detractors
FROM surveys_response r JOIN surveys_survey s ON s.id = r.survey_id
WHERE s.kind = 'relationship' AND r.answered_at >= %(start)s AND r.answered_at < %(end)s
GROUP BY 1 {group_by}
"""


def setup_django(url: str) -> None:
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="cxplatform.settings", CX_TESTING="1",
                      LOG_LEVEL="WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(url: str, responses: int, regenerate: bool) -> None:
    if database_reused(url, responses=responses, root=ROOT, regenerate=regenerate):
        return
    started = time.perf_counter()
    params = {"customers": CUSTOMERS, "responses": responses, "invitations": int(responses * 1.4)}
    steps = (("customers", CUSTOMERS_SQL), ("surveys", SURVEYS_SQL), ("invitations", INVITATIONS_SQL),
             ("responses", RESPONSES_SQL))
    generate(url, steps, params, ("surveys_invitation", "surveys_response"))
    print(f"generated {responses:,} responses and {params['invitations']:,} invitations "
          f"in {time.perf_counter() - started:.1f} s")


def floor(by_segment: bool, start, end) -> dict:
    from django.db import connection

    sql = FLOOR_SQL.format(group="r.segment," if by_segment else "", group_by=", 2" if by_segment else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": start, "end": end})
        rows = cursor.fetchall()
    if by_segment:
        return {(month.date(), segment): tuple(rest) for month, segment, *rest in rows}
    return {month.date(): tuple(rest) for month, *rest in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    prepare(url, args.responses, args.regenerate)
    setup_django(url)

    from reports.nps import nps_trend, nps_trend_by, period_bounds
    from reports.nps_formulas import margin_of_error
    from reports.periods import last_periods, parse_period

    months = last_periods("month", 36, parse_period(f"{FIRST_YEAR + 2}-12").start)
    start, _ = period_bounds(months[0])
    _, end = period_bounds(months[-1])

    def engine_all():
        trend = nps_trend(periods=months)
        return {p.start: (c.responses, c.promoters, c.passives, c.detractors, margin_of_error(*c.as_tuple))
                for p, c in trend}

    def engine_segments():
        trend = nps_trend_by(periods=months, by="segment")
        return {(p.start, group): (c.responses, c.promoters, c.passives, c.detractors, margin_of_error(*c.as_tuple))
                for group, series in trend.items() for p, c in series if c.responses}

    def floor_all():
        return {k: (*v, margin_of_error(v[1], v[3], v[0])) for k, v in floor(False, start, end).items()}

    def floor_segments():
        return {k: (*v, margin_of_error(v[1], v[3], v[0])) for k, v in floor(True, start, end).items()}

    steps = {"(a) nps_trend, 36 months": engine_all, "(b) floor, one query": floor_all,
             "(c) nps_trend_by segment": engine_segments, "(d) floor by segment": floor_segments}
    results = {label: step() for label, step in steps.items()}  # warm-up, and the check
    assert results["(a) nps_trend, 36 months"] == results["(b) floor, one query"], "monthly counts differ"
    assert results["(c) nps_trend_by segment"] == results["(d) floor by segment"], "segment counts differ"
    timings = {label: [] for label in steps}
    for _ in range(args.repeat):
        for label, step in steps.items():
            t = time.perf_counter()
            step()
            timings[label].append(time.perf_counter() - t)
    floors = {"(a)": "(b) floor, one query", "(c)": "(d) floor by segment"}
    print(f"\n{'query':<30}{'best s':>9}{'median s':>10}{'÷ floor (median)':>18}")
    for label, times in timings.items():
        floor_label = floors.get(label[:3])
        ratio = statistics.median(times) / statistics.median(timings[floor_label]) if floor_label else 1.0
        print(f"{label:<30}{min(times):>9.3f}{statistics.median(times):>10.3f}{ratio:>18.2f}")
    total = sum(v[0] for v in results["(b) floor, one query"].values())
    print(f"\n{total:,} relationship responses over {len(months)} months; counts identical in (a)/(b) and (c)/(d)")


if __name__ == "__main__":
    main()
