"""Rule 17: the users table records whether the bot may message each user.

`can_receive_messages` starts false for new users (nobody has started the bot or allowed
it to write yet). For the users already here, the outbox says: whoever's newest
delivered-or-refused message was sent can hear from the bot, so they start true.

Adding a NOT NULL column makes Django rebuild `users` on SQLite, which drops the table's
`updated_at` trigger (0002); 0007's constraint change rebuilt it too and did not put the
trigger back. The SQLite-only steps restore it after the rebuild, in both directions
(as 0006 does for `pacts`). PostgreSQL adds the columns in place and keeps its trigger.
"""

from django.db import migrations, models

from habitpact.db import VendorRunSQL, updated_at_triggers

_SQLITE_TRIGGER = next(op for op in updated_at_triggers("users") if op.vendor == "sqlite")
_RECREATE = f"DROP TRIGGER IF EXISTS users_updated_at; {_SQLITE_TRIGGER.sql}"

# The newest outcome per user among SENT and UNDELIVERABLE rows decides.
_BACKFILL = """
UPDATE users SET can_receive_messages = true, can_receive_messages_changed_at = (
    SELECT MAX(o.updated_at) FROM outbox o WHERE o.user_id = users.id AND o.status = 'SENT'
)
WHERE EXISTS (
    SELECT 1 FROM outbox o
    WHERE o.user_id = users.id AND o.status = 'SENT'
    AND NOT EXISTS (
        SELECT 1 FROM outbox u
        WHERE u.user_id = o.user_id AND u.status = 'UNDELIVERABLE'
        AND u.updated_at > o.updated_at
    )
)
"""


def _restore_sqlite_trigger(*, forwards: bool) -> VendorRunSQL:
    return VendorRunSQL(
        "sqlite",
        _RECREATE if forwards else migrations.RunSQL.noop,
        migrations.RunSQL.noop if forwards else _RECREATE,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0009_outbox_moves_to_outbox_app"),
    ]

    operations = [
        # Runs last when migrating backwards, after the reverse rebuild.
        _restore_sqlite_trigger(forwards=False),
        migrations.AddField(
            model_name="user",
            name="can_receive_messages",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="user",
            name="can_receive_messages_changed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        _restore_sqlite_trigger(forwards=True),
        migrations.RunSQL(_BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
