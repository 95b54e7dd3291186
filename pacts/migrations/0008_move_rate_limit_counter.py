"""RateLimitCounter now belongs to `habitpact` (its 0001): forget it here, state only.

The table stays as it is; reversing puts the model back in the pacts state.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0007_reminder_minutes_one_to_1440"),
        ("habitpact", "0001_rate_limit_counter"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateLimitCounter")],
            database_operations=[],
        ),
    ]
