"""Loading a benchmark's generated data: secondary indexes and constraints go during the load and
come back after it, one sort each instead of millions of random B-tree inserts."""


def drop_secondary(db, tables: tuple[str, ...]) -> list[str]:
    """Drop the indexes and constraints of `tables` other than their keys; return the statements
    that recreate them. `db` is a psycopg connection or cursor (both have `execute`)."""
    rebuild = []
    for table in tables:
        constraints = db.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'x')", [table]).fetchall()
        indexes = db.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table]).fetchall()
        for name, _ in constraints:
            db.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            db.execute(f"DROP INDEX {name}")
        rebuild += [definition for _, definition in indexes]
        rebuild += [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
    return rebuild


def database_reused(url: str, *, responses: int, root, regenerate: bool = False) -> bool:
    """True when `url`'s database already holds `responses` answers under today's migrations
    (and no `regenerate`); otherwise it is dropped, created and migrated empty (False)."""
    import os
    import subprocess
    import sys

    import psycopg

    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    env = {**os.environ, "DATABASE_URL": url, "CX_TESTING": "1", "LOG_LEVEL": "WARNING"}
    if exists and not regenerate:
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM surveys_response").fetchone()[0]
        # Data made under older migrations is made again: the generator writes today's columns.
        current = subprocess.run([sys.executable, "manage.py", "migrate", "--check"], env=env, cwd=root,
                                 capture_output=True).returncode == 0
        if count == responses and current:
            print(f"reusing {count:,} responses in {name}")
            return True
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=root)
    return False


def generate(url: str, steps, params: dict, tables: tuple[str, ...]) -> None:
    """Run the (label, SQL) `steps` with `params`, the secondary indexes and constraints of
    `tables` dropped meanwhile and rebuilt after, then VACUUM ANALYZE; each step's time printed."""
    import time

    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        rebuild = drop_secondary(conn, tables)
        for label, sql in steps:
            started = time.perf_counter()
            conn.execute(sql, params)
            print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        for statement in rebuild:
            conn.execute(statement)
        print(f"  indexes and constraints: {time.perf_counter() - started:.1f} s", flush=True)
        conn.execute("VACUUM ANALYZE")
