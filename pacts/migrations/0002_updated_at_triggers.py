from django.db import migrations

from habitpact.db import UPDATE_UPDATED_AT_FUNCTION, updated_at_triggers


class Migration(migrations.Migration):
    dependencies = [("pacts", "0001_initial")]

    operations = [
        UPDATE_UPDATED_AT_FUNCTION,
        *updated_at_triggers("users"),
        *updated_at_triggers("pacts"),
        *updated_at_triggers("pact_days"),
        *updated_at_triggers("outbox"),
    ]
