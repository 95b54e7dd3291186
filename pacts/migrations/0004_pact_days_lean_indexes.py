"""Fewer index writes per pact_days UPDATE.

A status change cannot be a HOT update (status is indexed), so every index of the row
gets a new entry. The plain `pact_id` index duplicates the unique (pact_id, date) one,
and the four user FKs are NULL on nearly every row: partial indexes (NOT NULL) serve
their lookups and skip the NULLs. Halves the index writes of the deadline sweep.

The FK columns keep their constraints; only Django's automatic indexes go. They are
dropped by name with plain SQL (same names and syntax on both engines) because an
AlterField on SQLite remakes the table, which would drop its `updated_at` trigger.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AUTO_INDEXES = {
    "pact_days_pact_id_9ed4ab5c": "pact_id",
    "pact_days_checked_in_by_user_id_3c90e9e4": "checked_in_by_user_id",
    "pact_days_disputed_by_user_id_6d1c99d6": "disputed_by_user_id",
    "pact_days_resolution_by_user_id_a4558758": "resolution_by_user_id",
    "pact_days_skipped_by_user_id_4b329696": "skipped_by_user_id",
}


def user_fk():
    return models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0003_pact_days_reminder_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="pactday",
                    name="pact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="days",
                        to="pacts.pact",
                    ),
                ),
                migrations.AlterField("pactday", "checked_in_by_user", user_fk()),
                migrations.AlterField("pactday", "disputed_by_user", user_fk()),
                migrations.AlterField("pactday", "resolution_by_user", user_fk()),
                migrations.AlterField("pactday", "skipped_by_user", user_fk()),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f"DROP INDEX IF EXISTS {name}" for name in AUTO_INDEXES],
                    [
                        f"CREATE INDEX {name} ON pact_days ({column})"
                        for name, column in AUTO_INDEXES.items()
                    ],
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="pactday",
            index=models.Index(
                condition=models.Q(("checked_in_by_user__isnull", False)),
                fields=["checked_in_by_user"],
                name="idx_pact_days_checked_in_by",
            ),
        ),
        migrations.AddIndex(
            model_name="pactday",
            index=models.Index(
                condition=models.Q(("disputed_by_user__isnull", False)),
                fields=["disputed_by_user"],
                name="idx_pact_days_disputed_by",
            ),
        ),
        migrations.AddIndex(
            model_name="pactday",
            index=models.Index(
                condition=models.Q(("resolution_by_user__isnull", False)),
                fields=["resolution_by_user"],
                name="idx_pact_days_resolution_by",
            ),
        ),
        migrations.AddIndex(
            model_name="pactday",
            index=models.Index(
                condition=models.Q(("skipped_by_user__isnull", False)),
                fields=["skipped_by_user"],
                name="idx_pact_days_skipped_by",
            ),
        ),
    ]
