"""Wake the sender when outbox rows commit: a statement-level AFTER INSERT trigger on
`outbox` that NOTIFYs channel `outbox` (PostgreSQL only; SQLite keeps polling).

A trigger rather than a NOTIFY from Python: every writer of the outbox is covered, the
ORM's `notify()`, `bulk_create` and the deadline sweep's raw-SQL batches alike, with no
hook to forget; NOTIFY is transactional, so the sender is woken only once the rows are
visible to it, and never by a transaction that rolls back; and PostgreSQL folds the
identical notifications of one transaction into one, so a 5 000-row batch costs one.
"""

from django.db import migrations

from habitpact.db import VendorRunSQL


class Migration(migrations.Migration):
    dependencies = [
        ("telegram_bot", "0001_processed_updates"),
        ("pacts", "0005_outbox_no_pattern_index"),
    ]

    operations = [
        VendorRunSQL(
            "postgresql",
            """
            CREATE OR REPLACE FUNCTION outbox_notify() RETURNS TRIGGER AS $$
            BEGIN
                PERFORM pg_notify('outbox', '');
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
            """,
            """
            DROP TRIGGER IF EXISTS outbox_notify ON outbox;
            DROP FUNCTION IF EXISTS outbox_notify();
            """,
        ),
    ]
