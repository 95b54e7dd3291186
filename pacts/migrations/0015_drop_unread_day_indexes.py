"""Drop two of the spec's pact_days indexes that no query reads (issue 17 goals 1-3).

`idx_pact_days_date (date)` and `idx_pact_days_status (pact_id, status)` are in the
spec's §5 DDL, but every query the app makes on pact_days names its pact, and the
unique `(pact_id, date)` already leads with the pact: a pact has a few hundred
days a year, and the sweeps find their rows through the partial indexes on the status
they look for (`idx_pact_days_deadline`, `_dispute`, `_remind`).

Each index cost every write that changes a day's status: a status change can't be a HOT
update, so PostgreSQL adds an entry to every index whose condition the new row meets.
The deadline sweep's flip to MISSED went from four such entries to two, and with a
year of history `(pact_id, status)` was one of the indexes whose entries land on a
different page for every pact. Measured with `bench/deadline_sweep.py` (README).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0014_pact_day_ids_time_ordered"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="pactday", name="idx_pact_days_status"),
        migrations.RemoveIndex(model_name="pactday", name="idx_pact_days_date"),
    ]
