"""Fewer index writes per ledger entry (the deadline sweep inserts one per missed day).

Django's automatic `pact_id` index duplicates the leading column of idx_ledger_pact
(pact_id, created_at), and `created_by_user_id` is set only on admin adjustments, so a
partial index (NOT NULL) serves its lookups. The automatic indexes are dropped by name
with plain SQL (same names on both engines) because an AlterField on SQLite remakes the
table, which would drop the append-only triggers.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AUTO_INDEXES = {
    "ledger_entries_pact_id_3402eb3e": "pact_id",
    "ledger_entries_created_by_user_id_91c847c9": "created_by_user_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_append_only_and_balances"),
        ("pacts", "0004_pact_days_lean_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="created_by_user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The staff member who recorded an adjustment.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="pact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="pacts.pact",
                    ),
                ),
            ],
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
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("created_by_user__isnull", False)),
                fields=["created_by_user"],
                name="idx_ledger_created_by",
            ),
        ),
    ]
