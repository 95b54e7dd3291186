"""No indexes on the ledger's `from_user_id` and `to_user_id` (issue 17), as in the
spec's DDL: nothing reads entries by user (balances go by pact), and each index cost
every FORFEIT the deadline sweep writes a random leaf write, which grows with history.

Dropped by name with plain SQL (same names on both engines), like 0003: an AlterField
on SQLite remakes the table, which would drop the append-only triggers.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AUTO_INDEXES = {
    "ledger_entries_from_user_id_3350f19b": "from_user_id",
    "ledger_entries_to_user_id_45e791eb": "to_user_id",
}


def unindexed_user(name: str):
    return migrations.AlterField(
        model_name="ledgerentry",
        name=name,
        field=models.ForeignKey(
            blank=True,
            db_index=False,
            null=True,
            on_delete=django.db.models.deletion.PROTECT,
            related_name="+",
            to=settings.AUTH_USER_MODEL,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_refuse_truncate"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[unindexed_user("from_user"), unindexed_user("to_user")],
            database_operations=[
                migrations.RunSQL(
                    [f"DROP INDEX IF EXISTS {name}" for name in AUTO_INDEXES],
                    [
                        f"CREATE INDEX {name} ON ledger_entries ({column})"
                        for name, column in AUTO_INDEXES.items()
                    ],
                ),
            ],
        ),
    ]
