"""RateLimitCounter moves from `pacts` to the plumbing (issue 13 move 3): state only.

The table `rate_limit_counters` (made by pacts 0001) keeps its name, rows, index and
constraint; only Django's idea of which app owns the model changes. pacts 0008 removes
it from the pacts state.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("pacts", "0007_reminder_minutes_one_to_1440")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateLimitCounter",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.CharField(max_length=200)),
                        ("window_start", models.DateTimeField()),
                        ("hits", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "rate_limit_counters",
                        "indexes": [
                            models.Index(fields=["window_start"], name="idx_rate_limit_window")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("key", "window_start"), name="rate_limit_key_window"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
