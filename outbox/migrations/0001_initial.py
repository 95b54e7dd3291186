"""The outbox moves here from `pacts`: state only. The table (`outbox`), its index, its
constraint and the NOTIFY trigger of telegram_bot/0002 stay exactly as they are;
pacts/0012 removes the model from pacts' state in the same step."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # The table was created (and last changed) by pacts' migrations.
        ("pacts", "0007_reminder_minutes_one_to_1440"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("chat_id", models.BigIntegerField()),
                        ("kind", models.CharField(max_length=40)),
                        ("payload", models.JSONField(default=dict)),
                        ("dedupe_key", models.CharField(max_length=200, unique=True)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("PENDING", "Pending"),
                                    ("SENT", "Sent"),
                                    ("UNDELIVERABLE", "Undeliverable"),
                                    ("FAILED", "Failed"),
                                ],
                                default="PENDING",
                                max_length=20,
                            ),
                        ),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        (
                            "next_attempt_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True, default="")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, editable=False
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="outbox",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "outbox",
                        "indexes": [
                            models.Index(
                                condition=models.Q(("status", "PENDING")),
                                fields=["next_attempt_at"],
                                name="idx_outbox_due",
                            )
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("status__in", ["PENDING", "SENT", "UNDELIVERABLE", "FAILED"])
                                ),
                                name="outbox_status_valid",
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
