"""Ledger ids become time-ordered (UUID version 7), issue 17 goal 3.

A uuid4 key puts each new entry's primary-key leaf at random; once the index outgrows
the cache (a year of history), every FORFEIT the deadline sweep writes costs a read and
a write of an uncached page. Version 7 ids start with the time in milliseconds, so new
entries land together at the index's right edge. Existing ids stay as they are.

`habitpact_uuid7()` is the SQL twin of `uuid6.uuid7` for the sweep's set-based insert
(PostgreSQL 15 has no built-in; PostgreSQL 18's is `uuidv7()`): a random uuid4 with its
first 48 bits replaced by the Unix time in milliseconds and its version nibble set to 7
(bits 52 and 53 turn 0100 into 0111). The SQL is written out here so this migration keeps
meaning what it meant when it was applied.
"""

import uuid6
from django.db import migrations, models

from habitpact.db import VendorRunSQL


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_ledger_user_columns_unindexed"),
    ]

    operations = [
        # A Python default only: no column changes (and on SQLite an AlterField would
        # remake the table and drop the append-only triggers).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="id",
                    field=models.UUIDField(
                        default=uuid6.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
        ),
        VendorRunSQL(
            "postgresql",
            """
            CREATE OR REPLACE FUNCTION habitpact_uuid7() RETURNS uuid AS $$
                SELECT encode(
                    set_bit(set_bit(
                        overlay(uuid_send(gen_random_uuid())
                                placing substring(int8send(
                                    (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                                ) FROM 3)
                                FROM 1 FOR 6),
                        52, 1), 53, 1),
                    'hex')::uuid
            $$ LANGUAGE sql VOLATILE;
            """,
            "DROP FUNCTION IF EXISTS habitpact_uuid7();",
        ),
    ]
