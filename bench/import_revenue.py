"""Benchmark: import 1,000,000 revenue lines for 100,000 customers into PostgreSQL.

Side by side in one run, each in its own process (so peak memory is its own):
  1. the floor: PostgreSQL's COPY of the same CSV rows into a bare table (no index, no check);
  2. COPY of the same rows (customer ids resolved beforehand) into an empty table made LIKE the
     ledger INCLUDING ALL: its primary key, unique reference and (customer, date, amount) index,
     with no check at all: what the ledger's own indexes cost;
  3. `import_file(kind="revenue")`, the path of the command, the UI upload and the API;
  4. the same import of a quarter of the file, to show memory does not grow with the file.

    python bench/import_revenue.py [--rows 1000000] [--customers 100000]

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/cx_bench, which it
drops and recreates). Generated files go to bench/data/ (git-ignored).
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cx_bench"


def generate(rows: int, customers: int) -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    customers_csv = DATA / f"customers_{customers}_v2.csv"  # v2: "other" answers carry their text
    revenue_csv = DATA / f"revenue_{rows}_{customers}.csv"
    rng = random.Random(7)
    if not customers_csv.exists():
        with customers_csv.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["external_id", "name", "email", "acquired_on", "reason", "reason_text",
                          "referred_by", "parent", "segment", "acquisition_cost", "language"])
            for n in range(customers):
                reason = rng.choice(["recommendation", "advertising", "other"])
                text = "Met the team at a trade fair" if reason == "other" else ""  # "other" needs its text
                out.writerow([f"C{n:07d}", f"Customer {n}", f"c{n}@example.com", "2023-01-01", reason, text,
                              "", "", rng.choice(["SMB", "Enterprise"]), "", "en"])
    if not revenue_csv.exists():
        start = date(2023, 1, 1)
        with revenue_csv.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["customer", "date", "amount", "external_ref", "product"])
            for n in range(rows):
                day = start + timedelta(days=rng.randrange(3 * 365))
                amount = f"{rng.randrange(-2000, 50000) / 100:.2f}"
                out.writerow([f"C{rng.randrange(customers):07d}", day.isoformat(), amount,
                              f"INV-{n:09d}", rng.choice(["Basic", "Pro", "Team"])])
    return customers_csv, revenue_csv


def head(path: Path, rows: int) -> Path:
    part = path.with_name(f"{path.stem}_head{rows}.csv")
    if not part.exists():
        with path.open() as src, part.open("w") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
    return part


def child(step: str, file: str) -> None:
    """Run one measured step in this process and print its figures as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxplatform.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from accounting.imports import import_file

    path = Path(file)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounting_revenueentry")
        cursor.execute("DROP TABLE IF EXISTS bench_bare")
        cursor.execute("CREATE TABLE bench_bare (customer text, date date, "
                       "amount numeric(14,2), external_ref text, product text)")
    if step == "copy_ledger":
        data = _ledger_rows(path)  # customer ids resolved before the clock starts
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_ledger")
            cursor.execute("CREATE TABLE bench_ledger (LIKE accounting_revenueentry INCLUDING ALL)")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if step == "copy_ledger":
        with connection.cursor() as cursor, cursor.cursor.copy(
            "COPY bench_ledger (customer_id, date, amount, external_ref, product) FROM STDIN"
        ) as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start:start + (1 << 20)])
        rows = _count("bench_ledger")
        status = "ok"
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_ledger")
    elif step == "copy":
        with connection.cursor() as cursor, path.open("rb") as f, cursor.cursor.copy(
            "COPY bench_bare FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                copy.write(chunk)
        rows = _count("bench_bare")
        status = "ok"
    else:
        with path.open("rb") as f:
            batch = import_file(kind="revenue", file=f, filename=path.name, source="bench")
        rows, status = batch.rows_created, batch.status
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"step": step, "rows": rows, "status": status, "seconds": seconds,
                      "peak_rss_mib": peak / 1024, "rss_before_mib": rss_before / 1024}))


def _ledger_rows(path: Path) -> bytes:
    from accounting.models import Customer

    ids = dict(Customer.objects.values_list("external_id", "id"))
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return "".join(f"{ids[c]}\t{d}\t{a}\t{r}\t{p}\n" for c, d, a, r, p in reader).encode()


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def run_child(step: str, file: Path, env: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", step, str(file)], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("STEP", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    env = {**os.environ, "DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING"}
    if url == DEFAULT_URL:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "DROP DATABASE IF EXISTS cx_bench",
                        "-c", "CREATE DATABASE cx_bench"], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    t = time.perf_counter()
    customers_csv, revenue_csv = generate(args.rows, args.customers)
    print(f"generated {args.rows:,} revenue lines for {args.customers:,} customers "
          f"({revenue_csv.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "import_customers", str(customers_csv)], env=env,
                   check=True, cwd=ROOT, capture_output=True)
    print(f"imported {args.customers:,} customers in {time.perf_counter() - t:.1f} s")

    quarter = head(revenue_csv, args.rows // 4)
    results = [
        run_child("copy", revenue_csv, env),
        run_child("copy_ledger", revenue_csv, env),
        run_child("import", revenue_csv, env),
        run_child("import", quarter, env),
    ]
    floor = results[0]["seconds"]
    print(f"\n{'step':<34}{'rows':>11}{'seconds':>10}{'× COPY':>9}{'peak RSS MiB':>15}")
    labels = ["COPY into a bare table (floor)", "COPY into the ledger's table", "import_revenue (whole file)",
              "import_revenue (first quarter)"]
    for label, r in zip(labels, results, strict=True):
        print(f"{label:<34}{r['rows']:>11,}{r['seconds']:>10.2f}{r['seconds'] / floor:>9.2f}"
              f"{r['peak_rss_mib']:>15.0f}")
    print(f"\nthroughput: {results[2]['rows'] / results[2]['seconds']:,.0f} rows/s; "
          f"memory grows {results[2]['peak_rss_mib'] - results[3]['peak_rss_mib']:+.0f} MiB from "
          f"{results[3]['rows']:,} to {results[2]['rows']:,} rows; import / COPY into the ledger's table: "
          f"{results[2]['seconds'] / results[1]['seconds']:.2f}x")


if __name__ == "__main__":
    main()
