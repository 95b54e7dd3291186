"""OutboxMessage now lives in the `outbox` app (outbox/0001): drop it from pacts' state
only, keeping the table. Its content type follows it, so staff permissions on the
outbox (`send again`) survive as `outbox.change_outboxmessage`."""

from django.db import migrations


def _move_content_type(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="outboxmessage").exists():
        ContentType.objects.filter(app_label=old, model="outboxmessage").update(app_label=new)


def forwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, "pacts", "outbox")


def backwards(apps, schema_editor):
    _move_content_type(apps, schema_editor, "outbox", "pacts")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("pacts", "0008_move_rate_limit_counter"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="OutboxMessage")],
        ),
        migrations.RunPython(forwards, backwards),
    ]
