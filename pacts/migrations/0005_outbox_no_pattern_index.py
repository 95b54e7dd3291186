"""Drop the `varchar_pattern_ops` index PostgreSQL gets for a unique CharField.

Django adds it so `dedupe_key LIKE 'x%'` can use an index; nothing queries the outbox
that way, and every notification (two per missed day in the deadline sweep) paid for a
second index entry. The unique index itself stays. SQLite never had it.
"""

from django.db import migrations

from habitpact.db import VendorRunSQL


class Migration(migrations.Migration):
    dependencies = [("pacts", "0004_pact_days_lean_indexes")]

    operations = [
        VendorRunSQL(
            "postgresql",
            "DROP INDEX IF EXISTS outbox_dedupe_key_15a7168b_like;",
            "CREATE INDEX outbox_dedupe_key_15a7168b_like ON outbox "
            "(dedupe_key varchar_pattern_ops);",
        ),
    ]
