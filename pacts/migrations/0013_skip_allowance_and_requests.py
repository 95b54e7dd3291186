"""Rules 8 and 9: a monthly skip allowance per pact, and skip requests.

- `pacts.skips_per_month` (0-10, CHECK on both engines). Existing pacts get the default
  of 2 from the column default as the column is added.
- `pact_days.skip_used_allowance`: whether a SKIPPED day used one of the month's skips.
- `skip_requests`, with at most one OPEN request per day (a partial unique index, which
  both engines support) and its own `updated_at` trigger (0002's rule for every table).

SQLite cannot add a NOT NULL column with a default or a CHECK in place, so Django
rebuilds `pacts` and `pact_days` there, which drops their `updated_at` triggers (0002):
the SQLite-only steps put them back after the rebuilds, in both directions (as 0006
does). PostgreSQL alters both tables in place and keeps its triggers.
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from habitpact.db import VendorRunSQL, updated_at_triggers

_REBUILT = ("pacts", "pact_days")


def _recreate(table: str) -> str:
    trigger = next(op for op in updated_at_triggers(table) if op.vendor == "sqlite")
    return f"DROP TRIGGER IF EXISTS {table}_updated_at; {trigger.sql}"


def _restore_sqlite_triggers(*, forwards: bool) -> list[VendorRunSQL]:
    return [
        VendorRunSQL(
            "sqlite",
            _recreate(table) if forwards else migrations.RunSQL.noop,
            migrations.RunSQL.noop if forwards else _recreate(table),
        )
        for table in _REBUILT
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0012_user_language"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Run last when migrating backwards, after the reverse rebuilds.
        *_restore_sqlite_triggers(forwards=False),
        migrations.AddField(
            model_name="pact",
            name="skips_per_month",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddConstraint(
            model_name="pact",
            constraint=models.CheckConstraint(
                condition=models.Q(("skips_per_month__gte", 0), ("skips_per_month__lte", 10)),
                name="pacts_skips_per_month_range",
            ),
        ),
        migrations.AddField(
            model_name="pactday",
            name="skip_used_allowance",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="SkipRequest",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("reason", models.TextField(blank=True, default="")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("OPEN", "Open"),
                            ("APPROVED", "Approved"),
                            ("DECLINED", "Declined"),
                            ("LAPSED", "Lapsed"),
                        ],
                        default="OPEN",
                        max_length=10,
                    ),
                ),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("answered_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "day",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="skip_requests",
                        to="pacts.pactday",
                    ),
                ),
                (
                    "requested_by_user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "answered_by_user",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "skip_requests",
                "indexes": [
                    models.Index(fields=["requested_by_user"], name="idx_skip_requests_by"),
                    models.Index(
                        condition=models.Q(("answered_by_user__isnull", False)),
                        fields=["answered_by_user"],
                        name="idx_skip_requests_answered_by",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "OPEN")),
                        fields=("day",),
                        name="skip_requests_one_open_per_day",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status__in", ["OPEN", "APPROVED", "DECLINED", "LAPSED"])
                        ),
                        name="skip_requests_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("status", "OPEN"), ("answered_at__isnull", False), _connector="OR"
                        ),
                        name="skip_requests_answered_has_time",
                    ),
                ],
            },
        ),
        *updated_at_triggers("skip_requests"),
        *_restore_sqlite_triggers(forwards=True),
    ]
