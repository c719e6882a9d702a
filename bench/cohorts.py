"""Benchmark: the cohorts report (SPEC §3, earned vs bought cohorts) on a mid-size company.

50,000 customers acquired over three years (one entity each), 30 monthly revenue lines and 15 cost
lines each (1.5 M revenue and 750,000 cost lines), generated inside PostgreSQL. Prints the report's
time for quarters and months at entity grain, and the page itself (Django's test client, a
viewer), median of --repeat runs after one warm-up.

    python bench/cohorts.py [--customers 50000] [--repeat 3]

Needs PostgreSQL: DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cx_bench_cohorts (dropped
and recreated each run). The report is computed on every view (no snapshot): it reads only the
lines of each unit's first 24 months, summed per unit, then per cohort and class.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench_cohorts"
REVENUE_PER_CUSTOMER = 30
COSTS_PER_CUSTOMER = 15

CUSTOMERS_SQL = """
INSERT INTO accounting_customer (external_id, name, email, language, segment, acquired_on, reason_text,
    reason_source, survey_opt_out, created_at, updated_at, reason_id, acquisition_cost)
SELECT 'B' || g, 'Customer ' || g, 'b' || g || '@example.com', 'en',
    CASE WHEN g %% 3 = 0 THEN 'SMB' ELSE 'Enterprise' END, DATE '2023-01-01' + (g %% 1000), '', 'import',
    false, now(), now(),
    (SELECT id FROM accounting_reasoncategory ORDER BY id LIMIT 1 OFFSET (g %% 6)), 50
FROM generate_series(1, %(customers)s) g
"""
REVENUE_SQL = """
INSERT INTO accounting_revenueentry (customer_id, date, amount, external_ref, product, created_at)
SELECT c.id, c.acquired_on + (n * 30), 10 + (n %% 7), 'BR' || c.id || '-' || n, 'Plan', now()
FROM accounting_customer c CROSS JOIN generate_series(1, %(lines)s) n
"""
COSTS_SQL = """
INSERT INTO accounting_costentry (customer_id, date, amount, external_ref, kind, description, created_at)
SELECT c.id, c.acquired_on + (n * 60), 2, 'BK' || c.id || '-' || n,
    CASE WHEN n = 1 THEN 'acquisition' ELSE 'serve' END, '', now()
FROM accounting_customer c CROSS JOIN generate_series(1, %(lines)s) n
"""


def prepare(url: str, customers: int) -> float:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT,
                   stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(CUSTOMERS_SQL, {"customers": customers})
        cursor.execute("UPDATE accounting_customer SET entity_id = id")
        cursor.execute(REVENUE_SQL, {"lines": REVENUE_PER_CUSTOMER})
        cursor.execute(COSTS_SQL, {"lines": COSTS_PER_CUSTOMER})
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def timed(run, repeat: int) -> float:
    run()  # warm-up: connection, plans, templates
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    seconds = prepare(url, args.customers)
    print(f"data: {args.customers:,} customers, {args.customers * REVENUE_PER_CUSTOMER:,} revenue and "
          f"{args.customers * COSTS_PER_CUSTOMER:,} cost lines, generated in {seconds:.1f} s")

    os.environ.update({"DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING",
                       "ALLOWED_HOSTS": "testserver", "DEBUG": "0", "SECRET_KEY": "bench-" + "x" * 50,
                       "READ_DOTENV": "0"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from reports.cohorts import MONTH, QUARTER, cohort_report

    viewer = User.objects.create_user("bench-viewer")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(viewer)

    def page():
        assert client.get("/reports/cohorts/").status_code == 200

    for label, run in (
        ("report, quarters, entity grain", lambda: cohort_report(by=QUARTER)),
        ("report, months, entity grain", lambda: cohort_report(by=MONTH)),
        ("page /reports/cohorts/", page),
    ):
        print(f"{label:<34} {timed(run, args.repeat):6.2f} s (median of {args.repeat})")


if __name__ == "__main__":
    main()
