"""No database FK from `outbox.user_id` to users (issue 17): users are tombstoned, never
deleted (the append-only ledger points at them), and the ORM still cascades, so the
constraint guarded nothing while its check at COMMIT (a FOR KEY SHARE row lock per
message) cost the deadline sweep an eighth of each batch. The index stays.

On PostgreSQL the constraint is dropped by name. SQLite keeps its REFERENCES clause: an
AlterField there remakes the table, which would drop the `updated_at` trigger
(pacts/0002), and SQLite's per-row check costs nothing worth that.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from habitpact.db import VendorRunSQL

CONSTRAINT = "outbox_user_id_a86e7424_fk_users_id"


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outboxmessage",
                    name="user",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outbox",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                VendorRunSQL(
                    "postgresql",
                    f"ALTER TABLE outbox DROP CONSTRAINT IF EXISTS {CONSTRAINT}",
                    f"ALTER TABLE outbox ADD CONSTRAINT {CONSTRAINT} FOREIGN KEY (user_id)"
                    " REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED",
                ),
            ],
        ),
    ]
