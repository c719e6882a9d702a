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
