"""Rule 15: a pending invite the initiator withdraws becomes CANCELLED.

The status check constraint gains the new value. SQLite cannot alter a CHECK
constraint, so Django rebuilds the `pacts` table there, which drops the table's
`updated_at` trigger (0002): the SQLite-only steps put it back after the rebuild, in
both directions. PostgreSQL alters the constraint in place and keeps its trigger.
"""

from django.db import migrations, models

from habitpact.db import updated_at_triggers

_SQLITE_TRIGGER = next(op for op in updated_at_triggers("pacts") if op.vendor == "sqlite")
_RECREATE = f"DROP TRIGGER IF EXISTS pacts_updated_at; {_SQLITE_TRIGGER.sql}"
_STATUSES = ["PENDING_ACCEPT", "ACTIVE", "ENDED", "DECLINED", "EXPIRED"]


def _restore_sqlite_trigger(*, forwards: bool):
    from habitpact.db import VendorRunSQL

    return VendorRunSQL(
        "sqlite",
        _RECREATE if forwards else migrations.RunSQL.noop,
        migrations.RunSQL.noop if forwards else _RECREATE,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0005_outbox_no_pattern_index"),
    ]

    operations = [
        # Runs last when migrating backwards, after the reverse rebuild.
        _restore_sqlite_trigger(forwards=False),
        migrations.RemoveConstraint(
            model_name="pact",
            name="pacts_status_valid",
        ),
        migrations.AlterField(
            model_name="pact",
            name="status",
            field=models.CharField(
                choices=[
                    ("PENDING_ACCEPT", "Pending Accept"),
                    ("ACTIVE", "Active"),
                    ("ENDED", "Ended"),
                    ("DECLINED", "Declined"),
                    ("EXPIRED", "Expired"),
                    ("CANCELLED", "Cancelled"),
                ],
                default="PENDING_ACCEPT",
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="pact",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", [*_STATUSES, "CANCELLED"])),
                name="pacts_status_valid",
            ),
        ),
        _restore_sqlite_trigger(forwards=True),
    ]
