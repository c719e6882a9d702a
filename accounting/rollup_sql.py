"""PostgreSQL triggers keeping `RevenueQuarter` equal to the ledger summed per entity and quarter,
and the one keeping a customer with ledger lines from being deleted (at the end of this module).

- An insert into the ledger (a COPY, a bulk create, one line) adds its lines in one upsert per
  statement, through a transition table: one aggregate, not one trigger call per line.
- A deleted or changed line (only the demo's own reset does that), a customer moved to another
  entity (`customers_refresh_entities`) or a truncated ledger rebuild the entities touched.

An import and a move of customers between entities never interleave: an insert takes an advisory
lock shared, a move (only when some entity changes) exclusively, each until its transaction
commits. Otherwise an import could sum its lines under a customer's old entity while a move,
not yet committed, had already rebuilt the old and the new entity without them.

The key of the roll-up INCLUDEs its figures, so reports sum it from the index alone, in entity
order (a merge join with customers, no hash table, nothing spills): see bench/earned_growth.py.
"""

from django.db import connection

# The advisory lock (two int4) serializing entity moves against ledger inserts is
# (1668838001, 0): 1668838001 is 0x63787271, "cxrq". A write that checks or reads the tree of
# parents takes it exclusively too (`services.customers_lock_tree`); a revenue or costs import
# takes it shared before it locks its customers (`imports.ledger._lock_customers`).
ENTITY_LOCK = (1668838001, 0)

ADD_FUNCTION = """
CREATE OR REPLACE FUNCTION revenue_quarter_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Shared: imports run side by side, but not while customers are being moved between entities
    -- (their transaction holds the lock exclusively until it commits). The upsert below then reads
    -- each customer's entity as committed after the move (a new snapshot per statement).
    PERFORM pg_advisory_xact_lock_shared(1668838001, 0);
    INSERT INTO accounting_revenuequarter AS q (unit_id, quarter, amount, positive_lines)
    SELECT COALESCE(c.entity_id, c.id), date_trunc('quarter', n.date::timestamp)::date,
        SUM(n.amount), COUNT(*) FILTER (WHERE n.amount > 0)
    FROM added n JOIN accounting_customer c ON c.id = n.customer_id
    GROUP BY 1, 2
    ORDER BY 1, 2  -- one lock order for concurrent imports
    ON CONFLICT (unit_id, quarter) DO UPDATE
        SET amount = q.amount + EXCLUDED.amount, positive_lines = q.positive_lines + EXCLUDED.positive_lines;
    RETURN NULL;
END $$;
"""

REGROUP_FUNCTION = """
CREATE OR REPLACE FUNCTION revenue_quarter_regroup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    units bigint[];
BEGIN
    -- Both the entity a customer left and the one it joined are summed again.
    units := ARRAY(
        SELECT DISTINCT unit FROM (
            SELECT COALESCE(o.entity_id, o.id) AS was, COALESCE(n.entity_id, n.id) AS now
            FROM old_customers o JOIN new_customers n ON n.id = o.id
        ) moved, LATERAL (VALUES (was), (now)) AS units(unit)
        WHERE was <> now);
    IF cardinality(units) = 0 THEN
        RETURN NULL;  -- no customer changed entity: no lock, imports go on
    END IF;
    -- Exclusive, until this transaction commits: an import that added lines under the old
    -- entity finishes first and its lines are in the sums below; a later one waits and adds
    -- its lines under the new entity.
    PERFORM pg_advisory_xact_lock(1668838001, 0);
    PERFORM revenue_quarter_rebuild(units);
    RETURN NULL;
END $$;
"""

INSTALL_TEMPLATE = """
ALTER TABLE accounting_revenuequarter DROP CONSTRAINT accounting_revenuequarter_pkey;
ALTER TABLE accounting_revenuequarter
    ADD CONSTRAINT accounting_revenuequarter_pkey PRIMARY KEY (unit_id, quarter) INCLUDE (amount, positive_lines);

CREATE FUNCTION revenue_quarter_rebuild(units bigint[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM accounting_revenuequarter WHERE unit_id = ANY(units);
    INSERT INTO accounting_revenuequarter (unit_id, quarter, amount, positive_lines)
    SELECT COALESCE(c.entity_id, c.id), date_trunc('quarter', r.date::timestamp)::date,
        SUM(r.amount), COUNT(*) FILTER (WHERE r.amount > 0)
    FROM accounting_customer c JOIN accounting_revenueentry r ON r.customer_id = c.id
    WHERE COALESCE(c.entity_id, c.id) = ANY(units)
    GROUP BY 1, 2;
$$;
{add}
CREATE FUNCTION revenue_quarter_resum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    -- The customers of the lines removed, and for an UPDATE of the lines as they are now.
    IF TG_OP = 'UPDATE' THEN
        touched := ARRAY(SELECT customer_id FROM removed UNION SELECT customer_id FROM added);
    ELSE
        touched := ARRAY(SELECT DISTINCT customer_id FROM removed);
    END IF;
    PERFORM revenue_quarter_rebuild(ARRAY(
        SELECT DISTINCT COALESCE(entity_id, id) FROM accounting_customer WHERE id = ANY(touched)));
    RETURN NULL;
END $$;

CREATE FUNCTION revenue_quarter_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM accounting_revenuequarter;
    RETURN NULL;
END $$;
{regroup}
CREATE TRIGGER revenue_quarter_add AFTER INSERT ON accounting_revenueentry
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION revenue_quarter_add();
CREATE TRIGGER revenue_quarter_remove AFTER DELETE ON accounting_revenueentry
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION revenue_quarter_resum();
CREATE TRIGGER revenue_quarter_change AFTER UPDATE ON accounting_revenueentry
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION revenue_quarter_resum();
CREATE TRIGGER revenue_quarter_clear AFTER TRUNCATE ON accounting_revenueentry
    FOR EACH STATEMENT EXECUTE FUNCTION revenue_quarter_clear();
CREATE TRIGGER revenue_quarter_regroup AFTER UPDATE ON accounting_customer
    REFERENCING OLD TABLE AS old_customers NEW TABLE AS new_customers
    FOR EACH STATEMENT EXECUTE FUNCTION revenue_quarter_regroup();
"""

INSTALL = INSTALL_TEMPLATE.replace("{add}", ADD_FUNCTION).replace("{regroup}", REGROUP_FUNCTION)

UNINSTALL = """
DROP TRIGGER IF EXISTS revenue_quarter_regroup ON accounting_customer;
DROP TRIGGER IF EXISTS revenue_quarter_clear ON accounting_revenueentry;
DROP TRIGGER IF EXISTS revenue_quarter_change ON accounting_revenueentry;
DROP TRIGGER IF EXISTS revenue_quarter_remove ON accounting_revenueentry;
DROP TRIGGER IF EXISTS revenue_quarter_add ON accounting_revenueentry;
DROP FUNCTION IF EXISTS revenue_quarter_regroup(), revenue_quarter_clear(), revenue_quarter_resum(),
    revenue_quarter_add(), revenue_quarter_rebuild(bigint[]);
"""

REBUILD_ALL = """
DELETE FROM accounting_revenuequarter;
INSERT INTO accounting_revenuequarter (unit_id, quarter, amount, positive_lines)
SELECT COALESCE(c.entity_id, c.id), date_trunc('quarter', r.date::timestamp)::date,
    SUM(r.amount), COUNT(*) FILTER (WHERE r.amount > 0)
FROM accounting_customer c JOIN accounting_revenueentry r ON r.customer_id = c.id
GROUP BY 1, 2;
"""


def rollup_kept() -> bool:
    """Whether this database keeps the roll-up (PostgreSQL), so that reports may read it."""
    return connection.vendor == "postgresql"


def install(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL)
        schema_editor.execute(REBUILD_ALL)


def uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL)


def install_entity_lock(schema_editor) -> None:
    """Replace the two functions of an installed roll-up with their locking versions."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD_FUNCTION)
        schema_editor.execute(REGROUP_FUNCTION)


# --- A customer with ledger lines is never deleted -----------------------------------------------
# The ledger has no foreign key (one checks each inserted line: see models.LedgerEntry) and
# Django's PROTECT sees committed lines only. An import locks the customers its lines name FOR KEY
# SHARE (imports.ledger): a DELETE of one waits for the import to commit, and this trigger, which
# runs once the row is locked, then sees its lines in a new snapshot and refuses. The code and the
# constraint name let the delete paths tell this refusal apart (`refused_for_ledger_lines`).

LEDGER_GUARD = "customer_has_ledger_lines"

GUARD_INSTALL = """
CREATE FUNCTION customer_has_ledger_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounting_revenueentry WHERE customer_id = OLD.id)
            OR EXISTS (SELECT 1 FROM accounting_costentry WHERE customer_id = OLD.id) THEN
        RAISE EXCEPTION 'customer % has ledger lines and cannot be deleted', OLD.external_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'customer_has_ledger_lines',
                TABLE = 'accounting_customer';
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER customer_has_ledger_lines BEFORE DELETE ON accounting_customer
    FOR EACH ROW EXECUTE FUNCTION customer_has_ledger_lines();
"""

GUARD_UNINSTALL = """
DROP TRIGGER IF EXISTS customer_has_ledger_lines ON accounting_customer;
DROP FUNCTION IF EXISTS customer_has_ledger_lines();
"""


def install_ledger_guard(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_INSTALL, params=None)  # no placeholders: RAISE's own %


def uninstall_ledger_guard(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD_UNINSTALL)


def refused_for_ledger_lines(error: BaseException) -> bool:
    """Whether a database error (Django's, wrapping the driver's) is that trigger's refusal."""
    diag = getattr(error.__cause__, "diag", None)
    return diag is not None and diag.constraint_name == LEDGER_GUARD
