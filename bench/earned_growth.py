"""Benchmark: the earned growth engine (SPEC §3) over 1,000,000 customers and ~10,000,000 ledger lines.

Side by side in one run, warm, each repeated (best and median reported), interleaved so that the
machine's noise falls on every line alike:
  (a) `reports.earned_growth.earned_growth` for the last full year of the data, entity grain: it
      reads the entity-by-quarter roll-up `RevenueQuarter` (kept by triggers) and customers;
  (b) the ledger's floor: ONE hand-written SQL query for the same totals over the ledger and
      customers (R_P, R_C, retained, earned/bought/unknown new, expansion, contraction, churn);
  (c) the report for one segment;  (d) the report for one quarter (the year's last, vs the one
      before);  (e) the ledger's floor for that quarter;
  (f), (g) the floor over the tables the report reads: ONE hand-written query over the roll-up and
      customers, for the year and the quarter, with reactivated revenue too (the same totals);
  (h), (i) the engine on the ledger, as it runs for months and customer grain (roll-up off).
Every line is checked to the cent against (a) first.

    python bench/earned_growth.py [--customers 1000000] [--repeat 5] [--regenerate] [--explain]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cx_bench_eg. The data
is generated inside PostgreSQL (INSERT ... SELECT over generate_series, secondary indexes dropped
during the load and rebuilt after, then VACUUM ANALYZE) for three years ending with the last full
year. It is kept: a later run that finds it at the expected size reuses it (`--regenerate`
rebuilds it; the database is dropped and recreated). `--explain` prints EXPLAIN (ANALYZE, BUFFERS)
of the engine's statements and of the floor.

The data: customers start in any month, most stay (with monthly growth or decline), 30% leave
within six months, 10% pause for 3-12 months and come back (reactivation), ~2% of months carry a
refund (some larger than the month's sales); 10% of customers are divisions of another one and
5% divisions of a division, so entities (850,000) differ from customers; four segments (one
blank); reasons of every class, none (15%), and "other" answers half mapped, half not.

What this benchmark changed, and why (EXPLAIN (ANALYZE, BUFFERS) with --explain):
- The engine summed every line up to the end of C (all history, to find reactivated units) in
  a hash aggregate that spilled to disk: a quarter cost as much as a year (17 s vs a 16 s floor on
  the loaded 2-core machine). It now sums only the lines from the start of P to the end of C;
  "positive revenue before P" is probed for the new units only (~26% of units for a year, ~15%
  for a quarter), once per unit, through two indexes.
- Index `revenue_customer_date` now INCLUDEs `amount` (migration accounting 0006): the per-period
  sums come from index-only scans (the ledger is append-only, so its pages stay all-visible) and
  the reactivation probe never touches the table. Same number of indexes, so imports barely pay.
- Index `customer_entity_or_self` on COALESCE(entity_id, id) (same migration): finds a unit's
  members for the probe, and lets PostgreSQL walk customers in unit order, so that the sums
  stream per unit (nested loop over the covering index, group aggregate: nothing spills) instead
  of hashing 8M lines into 1M groups.
- A segment's report joins the segment's units first, so it sums only their lines (~4x less).
- The sums use FILTER rather than CASE ... ELSE 0 (no numeric additions of zero per line).
- PostgreSQL connections run with jit=off (cxplatform.settings, PG_OPTIONS to override): JIT
  spent 1.7-3.0 s compiling each of these statements, more than it saved (A/B: -0.3 to -1.4 s).
  work_mem, random_page_cost and parallel workers were tried and left alone: no gain above noise.
- Then the roll-up (migration accounting 0007, accounting/rollup_sql.py): revenue per entity and
  calendar quarter, kept by PostgreSQL triggers (an insert adds its lines in one upsert per
  statement; a change of parents, a removed line or a truncate rebuilds the entities touched). It
  has ~3.9M rows for 10.2M lines, already grouped by entity, and its key INCLUDEs the figures: a
  year or a quarter is an index-only scan in entity order, a group aggregate and a merge join with
  customers (no hash, no spill), and the reactivation probe is one index lookup per new entity.
  The quarter went from 2.8-3.2 s (the ledger path, (i)) to ~1.0 s, the year from 3.2-3.5 s to
  ~1.8 s. Months and customer grain still read the ledger (a monthly roll-up would be as long as
  the ledger here; a per-customer one would not be grouped by entity).
- Its price: imports sum their lines into it in the same statement (bench/import_revenue.py),
  and upserts leave dead index entries until autovacuum; a bloated key (after a mass update)
  doubled the quarter's time here until VACUUM FULL.
- When P is just before C there is no time between them: the engine then skips counting lines
  there (yoy needs it).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bulk_load import drop_secondary  # bench/ is the script's own folder

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_eg"
VERSION = 2  # bump when the generated data changes shape
SEGMENTS = ("SMB", "Mid-market", "Enterprise", "")


# --- data ---------------------------------------------------------------------------------------

CUSTOMERS_SQL = """
INSERT INTO accounting_customer (
    id, external_id, name, email, language, segment, acquired_on, reason_text, reason_source,
    survey_opt_out, created_at, updated_at, parent_id, entity_id, reason_id, reason_mapped_to_id)
SELECT g, 'C' || lpad(g::text, 7, '0'), 'Customer ' || g, '', 'en',
    (ARRAY['SMB', 'Mid-market', 'Enterprise', ''])[1 + (g * 7 / 10) %% 4],
    NULL, '', '', false, now(), now(),
    CASE WHEN g %% 10 = 0 THEN g - 1 WHEN g %% 20 = 8 AND g + 2 <= %(n)s THEN g + 2 END,
    CASE WHEN g %% 10 = 0 THEN g - 1 WHEN g %% 20 = 8 AND g + 2 <= %(n)s THEN g + 1 ELSE g END,
    CASE WHEN x < 0.15 THEN NULL WHEN x < 0.30 THEN r.recommendation WHEN x < 0.40 THEN r.reputation
        WHEN x < 0.45 THEN r.returning WHEN x < 0.60 THEN r.salesperson WHEN x < 0.75 THEN r.advertising
        WHEN x < 0.85 THEN r.promotion ELSE r.other END,
    CASE WHEN x >= 0.925 THEN (CASE WHEN g %% 2 = 0 THEN r.recommendation ELSE r.advertising END) END
FROM (SELECT g, random() AS x FROM generate_series(1, %(n)s) g) s,
    (SELECT max(id) FILTER (WHERE slug = 'recommendation') AS recommendation,
            max(id) FILTER (WHERE slug = 'reputation') AS reputation,
            max(id) FILTER (WHERE slug = 'returning') AS returning,
            max(id) FILTER (WHERE slug = 'salesperson') AS salesperson,
            max(id) FILTER (WHERE slug = 'advertising') AS advertising,
            max(id) FILTER (WHERE slug = 'promotion') AS promotion,
            max(id) FILTER (WHERE slug = 'other') AS other
     FROM accounting_reasoncategory) r
"""

# One row per customer: active months [s, e] (0 = the first month of the data), an optional
# pause of gl months from gs, a base monthly amount and a monthly growth (negative: contraction).
PLAN_SQL = """
CREATE UNLOGGED TABLE bench_plan AS
SELECT id, s, LEAST(s + d - 1, 35) AS e,
    CASE WHEN random() < 0.10 THEN s + 2 + floor(random() * 10)::int END AS gs,
    3 + floor(random() * 10)::int AS gl,
    round(exp(3 + random() * 4.6)::numeric, 2) AS base,
    (random() * 0.08 - 0.03)::numeric(6, 4) AS growth
FROM (SELECT g AS id, floor(random() * 36)::int AS s,
        CASE WHEN random() < 0.30 THEN 1 + floor(random() * 6)::int ELSE 4 + floor(random() * 32)::int END AS d
      FROM generate_series(1, %(n)s) g) x
"""

REVENUE_SQL = """
INSERT INTO accounting_revenueentry (customer_id, date, amount, external_ref, product)
SELECT * FROM (
SELECT p.id AS customer_id, (%(start)s::date + make_interval(months => m))::date + (p.id %% 28)::int AS date,
    round(p.base * GREATEST(1 + p.growth * (m - p.s), 0.2), 2),
    'R' || p.id || '-' || m, (ARRAY['Basic', 'Pro', 'Team'])[1 + p.id %% 3]
FROM bench_plan p, generate_series(p.s, p.e) m
WHERE p.gs IS NULL OR m < p.gs OR m >= p.gs + p.gl
UNION ALL
SELECT p.id, (%(start)s::date + make_interval(months => m))::date + (p.id %% 27 + 1)::int,
    -round(p.base * CASE WHEN (p.id + m) %% 7 = 0 THEN 1.5 ELSE 0.5 END, 2),
    'F' || p.id || '-' || m, (ARRAY['Basic', 'Pro', 'Team'])[1 + p.id %% 3]
FROM bench_plan p, generate_series(p.s, p.e) m
WHERE (p.id * 31 + m * 17) %% 50 = 0 AND (p.gs IS NULL OR m < p.gs OR m >= p.gs + p.gl)
) lines ORDER BY date  -- a ledger grows by date, and so is laid out on disk
"""


def generate(cursor, customers: int, first_year: int) -> dict:
    started = time.perf_counter()
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET maintenance_work_mem = '1GB'")
    cursor.execute("SELECT setseed(0.42)")
    rebuild = drop_secondary(cursor, ("accounting_customer", "accounting_revenueentry"))
    cursor.execute(CUSTOMERS_SQL, {"n": customers})
    cursor.execute("SELECT setval(pg_get_serial_sequence('accounting_customer', 'id'), %s)", [customers])
    cursor.execute("DROP TABLE IF EXISTS bench_plan")
    cursor.execute(PLAN_SQL, {"n": customers})
    cursor.execute(REVENUE_SQL, {"start": date(first_year, 1, 1)})
    rows = cursor.rowcount
    cursor.execute("DROP TABLE bench_plan")
    loaded = time.perf_counter() - started
    for statement in rebuild:
        cursor.execute(statement)
    cursor.execute("VACUUM (ANALYZE) accounting_customer")
    cursor.execute("VACUUM (ANALYZE) accounting_revenueentry")
    cursor.execute("VACUUM (ANALYZE) accounting_revenuequarter")  # filled by the ledger's trigger
    meta = {"version": VERSION, "customers": customers, "first_year": first_year, "revenue_rows": rows,
            "load_seconds": round(loaded, 1), "seconds": round(time.perf_counter() - started, 1)}
    cursor.execute("CREATE TABLE bench_meta (meta jsonb)")
    cursor.execute("INSERT INTO bench_meta VALUES (%s)", [json.dumps(meta)])
    return meta


def cached_meta(url: str, customers: int, first_year: int) -> dict | None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            meta = conn.execute("SELECT meta FROM bench_meta").fetchone()[0]
            count = conn.execute("SELECT count(*) FROM accounting_customer").fetchone()[0]
    except psycopg.Error:
        return None
    wanted = {"version": VERSION, "customers": customers, "first_year": first_year}
    if any(meta.get(key) != value for key, value in wanted.items()) or count != customers:
        return None
    return meta


def prepare(url: str, customers: int, first_year: int, regenerate: bool) -> tuple[dict, bool]:
    import psycopg

    env = {**os.environ, "DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING"}
    meta = None if regenerate else cached_meta(url, customers, first_year)
    if meta is None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    # Always migrate: a cached database gets the indexes of newer migrations too.
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT,
                   stderr=subprocess.DEVNULL)
    if meta is not None:
        return meta, True
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        return generate(cursor, customers, first_year), False


# --- the floor ----------------------------------------------------------------------------------

FLOOR_TOTALS = """
SELECT SUM(rp) AS prior_revenue, SUM(rc) AS revenue,
    COALESCE(SUM(rc) FILTER (WHERE rp > 0), 0) AS retained_revenue,
    COALESCE(SUM(rc) FILTER (WHERE rp <= 0 AND kind = 'earned'), 0) AS earned_new_revenue,
    COALESCE(SUM(rc) FILTER (WHERE rp <= 0 AND kind = 'bought'), 0) AS bought_new_revenue,
    COALESCE(SUM(rc) FILTER (WHERE rp <= 0 AND kind = 'unknown'), 0) AS unknown_new_revenue,
    COALESCE(SUM(rc - rp) FILTER (WHERE rp > 0 AND rc > rp), 0) AS expansion_revenue,
    COALESCE(SUM(rp - rc) FILTER (WHERE rp > 0 AND rc < rp AND rc > 0), 0) AS contraction_revenue,
    COALESCE(SUM(rp - rc) FILTER (WHERE rp > 0 AND rc <= 0), 0)
        + COALESCE(SUM(rp) FILTER (WHERE rp <= 0), 0) AS churned_revenue"""
FLOOR_SQL = f"""
WITH u AS (
    SELECT COALESCE(c.entity_id, c.id) AS unit,
        COALESCE(SUM(r.amount) FILTER (WHERE r.date < %(c0)s), 0) AS rp,
        COALESCE(SUM(r.amount) FILTER (WHERE r.date >= %(c0)s), 0) AS rc
    FROM accounting_revenueentry r JOIN accounting_customer c ON c.id = r.customer_id
    WHERE r.date BETWEEN %(p0)s AND %(c1)s
    GROUP BY 1
), k AS (
    SELECT u.rp, u.rc, CASE WHEN e.reason_mapped_to_id IS NULL AND rc_.slug = 'other' THEN 'unknown'
                            ELSE COALESCE(rc_.kind, 'unknown') END AS kind
    FROM u JOIN accounting_customer e ON e.id = u.unit
    LEFT JOIN accounting_reasoncategory rc_ ON rc_.id = COALESCE(e.reason_mapped_to_id, e.reason_id)
)
{FLOOR_TOTALS}
FROM k
"""
# The same totals over the tables the report reads for years and quarters (the entity roll-up
# RevenueQuarter and customers), reactivated revenue included: the report's own floor.
FLOOR_ROLLUP_SQL = f"""
WITH u AS (
    SELECT q.unit_id AS unit,
        COALESCE(SUM(q.amount) FILTER (WHERE q.quarter < %(c0)s), 0) AS rp,
        COALESCE(SUM(q.amount) FILTER (WHERE q.quarter >= %(c0)s), 0) AS rc
    FROM accounting_revenuequarter q
    WHERE q.quarter BETWEEN %(p0)s AND %(c1)s
    GROUP BY 1
), k AS (
    SELECT u.rp, u.rc, CASE WHEN e.reason_mapped_to_id IS NULL AND rc_.slug = 'other' THEN 'unknown'
                            ELSE COALESCE(rc_.kind, 'unknown') END AS kind,
        u.rp <= 0 AND u.rc <> 0 AND EXISTS (
            SELECT 1 FROM accounting_revenuequarter b
            WHERE b.unit_id = u.unit AND b.quarter < %(p0)s AND b.positive_lines > 0) AS back
    FROM u JOIN accounting_customer e ON e.id = u.unit
    LEFT JOIN accounting_reasoncategory rc_ ON rc_.id = COALESCE(e.reason_mapped_to_id, e.reason_id)
    OFFSET 0
)
{FLOOR_TOTALS},
    COALESCE(SUM(rc) FILTER (WHERE back), 0) AS reactivated_revenue
FROM k
"""
FLOOR_KEYS = ("prior_revenue", "revenue", "retained_revenue", "earned_new_revenue", "bought_new_revenue",
              "unknown_new_revenue", "expansion_revenue", "contraction_revenue", "churned_revenue")


def floor(period, prior, sql: str = FLOOR_SQL) -> dict:
    from django.db import connection

    assert prior.end < period.start and (period.start - prior.end).days == 1, "the floor needs P just before C"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"p0": prior.start, "c0": period.start, "c1": period.end})
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


# --- timing -------------------------------------------------------------------------------------

def explain(label: str, sql: str, params) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print(f"\n--- EXPLAIN {label}")
        print("\n".join(row[0] for row in cursor.fetchall()))


def captured(call) -> list[tuple[str, object]]:
    """The statements (SQL, params) that `call` runs."""
    from django.db import connection

    statements = []

    def wrapper(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        call()
    return statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--year", type=int, default=date.today().year - 1, help="the reported year (last full)")
    parser.add_argument("--segment", default="Enterprise")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    started = time.perf_counter()
    meta, cached = prepare(url, args.customers, args.year - 2, args.regenerate)
    print(f"data: {meta['customers']:,} customers, {meta['revenue_rows']:,} revenue lines, "
          f"{meta['first_year']}-{meta['first_year'] + 2}; generated in {meta['seconds']} s "
          f"(load {meta['load_seconds']} s, then indexes + VACUUM ANALYZE)"
          + (f"; reused (ready in {time.perf_counter() - started:.1f} s)" if cached else ""))

    os.environ.update({"DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from reports import earned_growth as engine
    from reports.earned_growth import earned_growth
    from reports.periods import parse_period

    def from_ledger(**kwargs):
        """The engine as it would run without the roll-up (as for months or customer grain)."""
        kept, engine.rollup_kept = engine.rollup_kept, lambda: False
        try:
            return earned_growth(**kwargs)
        finally:
            engine.rollup_kept = kept

    year = parse_period(str(args.year))
    quarter = parse_period(f"{args.year}-Q4")
    floor_year, floor_quarter = "(b) floor: one hand-written query", f"(e) floor for the quarter {quarter}"
    cases = {
        "(a) earned_growth, year, entity": lambda: earned_growth(period=year),
        floor_year: lambda: floor(year, year.prior()),
        f"(c) earned_growth, segment {args.segment!r}": lambda: earned_growth(period=year, segment=args.segment),
        f"(d) earned_growth, quarter {quarter}": lambda: earned_growth(period=quarter),
        floor_quarter: lambda: floor(quarter, quarter.prior()),
        "(f) floor over the roll-up, year": lambda: floor(year, year.prior(), FLOOR_ROLLUP_SQL),
        f"(g) floor over the roll-up, {quarter}": lambda: floor(quarter, quarter.prior(), FLOOR_ROLLUP_SQL),
        "(h) ledger path, year": lambda: from_ledger(period=year),
        f"(i) ledger path, quarter {quarter}": lambda: from_ledger(period=quarter),
    }
    for period in (year, quarter):  # warm-up, and the check
        report = earned_growth(period=period)
        got = {key: getattr(report, key) for key in FLOOR_KEYS}
        assert report.revenue == (report.retained_revenue + report.earned_new_revenue
                                  + report.bought_new_revenue + report.unknown_new_revenue)
        got["reactivated_revenue"] = report.reactivated_revenue
        ledger_path = from_ledger(period=period)
        for name, expected in (("floor", floor(period, period.prior())),
                               ("roll-up floor", floor(period, period.prior(), FLOOR_ROLLUP_SQL)),
                               ("ledger path", {key: getattr(ledger_path, key) for key in got})):
            mismatch = {key: (got[key], expected[key]) for key in expected if got[key] != expected[key]}
            print(f"check {period}: earned_growth = {name} to the cent on {len(expected)} figures: "
                  + ("OK" if not mismatch else f"MISMATCH {mismatch}"))
        print(f"  R_P {report.prior_revenue:,}  R_C {report.revenue:,}  nrr {report.nrr:.4f}  "
              f"earned growth {report.earned_growth_rate:.4f}  cohort {report.cohort_units:,}  "
              f"new {report.new_units}  reactivated {report.reactivated_units:,}")

    if args.explain:
        for label in (next(iter(cases)), list(cases)[2], list(cases)[3]):
            for sql, params in captured(cases[label]):
                explain(label, sql, params)
        explain("(b) floor", FLOOR_SQL, {"p0": year.prior().start, "c0": year.start, "c1": year.end})

    times = {label: [] for label in cases}
    for _ in range(args.repeat):
        for label, call in cases.items():
            t = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - t)
    base = min(times[floor_year])
    print(f"\n{'query':<40}{'best s':>9}{'median s':>10}{'best ÷ floor':>14}")
    for label, values in times.items():
        print(f"{label:<40}{min(values):>9.2f}{statistics.median(values):>10.2f}{min(values) / base:>14.2f}")
    best = {label: min(values) for label, values in times.items()}
    (year_, ledger_floor, segment_, quarter_, quarter_floor, rollup_floor, rollup_quarter_floor,
     *_) = best.values()
    ratio = year_ / rollup_floor
    print(f"\ntargets: (a) ≤ 1.2 × the floor over the same tables (f): {ratio:.2f} "
          f"{'met' if ratio <= 1.2 else 'MISSED'} (and {year_ / ledger_floor:.2f} × the ledger's floor (b)); "
          f"(c) < 2 s: {'met' if segment_ < 2 else 'MISSED'}; (d) < 2 s: {'met' if quarter_ < 2 else 'MISSED'} "
          f"({quarter_ / rollup_quarter_floor:.2f} × (g), {quarter_ / quarter_floor:.2f} × (e))")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        print(f"session: jit={cursor.fetchone()[0]} (cxplatform.settings), load average "
              + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
