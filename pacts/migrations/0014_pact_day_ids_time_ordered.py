"""Pact days get time-ordered ids (UUID version 7), issue 17 goal 3, like ledger/0006.

The days a materialisation makes together then sit together in the primary key and in
every index keyed by a day id (the ledger's `pact_day_id`, its one-FORFEIT-per-day), so
the deadline sweep's writes and foreign-key checks touch a few hot pages rather than
random ones all over a year of history. Existing ids stay as they are.

A Python default only, so state only: on SQLite an AlterField would remake the table
(and drop its `updated_at` trigger, see 0006_pact_status_cancelled).
"""

import uuid6
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0013_skip_allowance_and_requests"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="pactday",
                    name="id",
                    field=models.UUIDField(
                        default=uuid6.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
        ),
    ]
