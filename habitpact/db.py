"""Database helpers for migrations: raw SQL for one engine at a time.

The ledger's append-only rule and `updated_at` upkeep live in the database itself, on
PostgreSQL and SQLite alike, so even a bulk `QuerySet.update()`, a shell session or an
operator's psql cannot silently change money.
"""

from django.db import migrations

APPEND_ONLY_MESSAGE = "ledger_entries is append-only: UPDATE and DELETE are forbidden"


class VendorRunSQL(migrations.RunSQL):
    """RunSQL that runs only on one database vendor ("postgresql" or "sqlite")."""

    def __init__(self, vendor: str, sql, reverse_sql):
        super().__init__(sql, reverse_sql)
        self.vendor = vendor

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, *args], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def updated_at_triggers(table: str) -> list[VendorRunSQL]:
    """Keep `table.updated_at` current on every UPDATE that does not set it itself
    (bulk `QuerySet.update()` bypasses Django's auto_now)."""
    return [
        VendorRunSQL(
            "postgresql",
            f"""
            CREATE TRIGGER {table}_updated_at BEFORE UPDATE ON {table}
            FOR EACH ROW WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at)
            EXECUTE FUNCTION update_updated_at();
            """,
            f"DROP TRIGGER IF EXISTS {table}_updated_at ON {table};",
        ),
        VendorRunSQL(
            "sqlite",
            f"""
            CREATE TRIGGER {table}_updated_at AFTER UPDATE ON {table}
            FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
            BEGIN
                UPDATE {table} SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
                WHERE rowid = NEW.rowid;
            END;
            """,
            f"DROP TRIGGER IF EXISTS {table}_updated_at;",
        ),
    ]


UPDATE_UPDATED_AT_FUNCTION = VendorRunSQL(
    "postgresql",
    """
    CREATE OR REPLACE FUNCTION update_updated_at() RETURNS TRIGGER AS $$
    BEGIN
        NEW.updated_at = NOW();
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    "DROP FUNCTION IF EXISTS update_updated_at();",
)

# The BEFORE TRUNCATE statement trigger of ledger/0004 (PostgreSQL). Throwaway databases
# (the test suite's flush, the drills, the benches) lift it inside the transaction that
# empties the tables; see `truncating_the_ledger`.
LEDGER_NO_TRUNCATE = "ledger_no_truncate"


def truncating_the_ledger(statements: list[str]) -> list[str]:
    """`statements` (which TRUNCATE ledger_entries) wrapped so PostgreSQL allows them:
    the trigger is disabled before and enabled after, in the caller's one transaction,
    so a failure rolls the trigger back on too. For throwaway databases only: it needs
    the table's owner, which the app's own role need not be in production."""
    return [
        f"ALTER TABLE ledger_entries DISABLE TRIGGER {LEDGER_NO_TRUNCATE}",
        *statements,
        f"ALTER TABLE ledger_entries ENABLE TRIGGER {LEDGER_NO_TRUNCATE}",
    ]


SQLITE_NO_DELETE = f"""CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;"""

LEDGER_APPEND_ONLY = [
    VendorRunSQL(
        "postgresql",
        f"""
        CREATE OR REPLACE FUNCTION ledger_immutable() RETURNS TRIGGER AS $$
        BEGIN
            RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}';
        END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER ledger_no_modify BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
        """,
        """
        DROP TRIGGER IF EXISTS ledger_no_modify ON ledger_entries;
        DROP FUNCTION IF EXISTS ledger_immutable();
        """,
    ),
    VendorRunSQL(
        "sqlite",
        f"""
        CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;
        {SQLITE_NO_DELETE}
        """,
        """
        DROP TRIGGER IF EXISTS ledger_no_update;
        DROP TRIGGER IF EXISTS ledger_no_delete;
        """,
    ),
]

PACT_BALANCES_VIEW = migrations.RunSQL(
    # Same SQL on both engines (SQLite has FILTER since 3.30).
    """
    CREATE VIEW pact_balances AS
    SELECT
        pact_id,
        SUM(amount) AS balance,
        COUNT(*) FILTER (WHERE type = 'FORFEIT') AS total_forfeits,
        COUNT(*) FILTER (WHERE type = 'SETTLEMENT') AS total_settlements
    FROM ledger_entries
    GROUP BY pact_id;
    """,
    "DROP VIEW IF EXISTS pact_balances;",
)
