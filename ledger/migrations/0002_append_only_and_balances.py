from django.db import migrations

from habitpact.db import LEDGER_APPEND_ONLY, PACT_BALANCES_VIEW, updated_at_triggers


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_initial"),
        ("pacts", "0002_updated_at_triggers"),  # provides update_updated_at()
    ]

    operations = [
        *LEDGER_APPEND_ONLY,
        *updated_at_triggers("settlements"),
        PACT_BALANCES_VIEW,
    ]
