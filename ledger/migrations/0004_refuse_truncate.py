"""The ledger refuses TRUNCATE too (issue 11 item 8), not only UPDATE and DELETE.

PostgreSQL: row triggers do not fire for TRUNCATE, so `TRUNCATE ledger_entries` (or a
`TRUNCATE pacts CASCADE`, which reaches it) emptied the ledger in one statement despite
`ledger_no_modify`. A BEFORE TRUNCATE ... FOR EACH STATEMENT trigger refuses it; it also
fires when a CASCADE from another table reaches ledger_entries.

SQLite has no TRUNCATE statement. Its nearest equivalent, `DELETE FROM ledger_entries`
without a WHERE (which SQLite's "truncate optimisation" would otherwise turn into a
table wipe), is refused by the existing `ledger_no_delete` row trigger: the optimisation
is switched off for any table with a DELETE trigger. So there is nothing to add there.

The SQL is written out here (not imported) so this migration keeps meaning what it
meant when it was applied.
"""

from django.db import migrations

from habitpact.db import VendorRunSQL


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_lean_indexes"),
    ]

    operations = [
        VendorRunSQL(
            "postgresql",
            """
            CREATE OR REPLACE FUNCTION ledger_no_truncate() RETURNS TRIGGER AS $$
            BEGIN
                RAISE EXCEPTION 'ledger_entries is append-only: TRUNCATE is forbidden';
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_entries
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
            """,
            """
            DROP TRIGGER IF EXISTS ledger_no_truncate ON ledger_entries;
            DROP FUNCTION IF EXISTS ledger_no_truncate();
            """,
        ),
    ]
