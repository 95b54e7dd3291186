"""Rules 10 and 11: breaks (`pact_breaks`) and the partner's "Looks good" (`approved_at`).

- `pact_breaks` with its constraints on both engines: a known status, end >= start, at
  most 30 days (`DaysBetween`: date subtraction on PostgreSQL, julianday() on SQLite),
  and one open break per pact (a partial unique index on PROPOSED/APPROVED; "future"
  depends on the clock, so `BreakQuerySet.settle` closes finished ones under the
  pact's lock). Its `updated_at` is kept by the database, like every table's.
- `pact_days.on_break` (the break that skipped the day) and `pact_days.approved_at`:
  nullable, so SQLite adds them with ALTER TABLE ADD COLUMN and keeps the table's
  `updated_at` trigger. Removing them (backwards) rebuilds the table there, which drops
  the trigger: the first step (run last backwards) puts it back.
"""

import django.db.models.deletion
import django.db.models.lookups
import django.utils.timezone
import pacts.breaks
import uuid
from django.conf import settings
from django.db import migrations, models

from habitpact.db import VendorRunSQL, updated_at_triggers

_SQLITE_DAYS_TRIGGER = next(op for op in updated_at_triggers("pact_days") if op.vendor == "sqlite")
_RECREATE_DAYS_TRIGGER = f"DROP TRIGGER IF EXISTS pact_days_updated_at; {_SQLITE_DAYS_TRIGGER.sql}"


class Migration(migrations.Migration):
    dependencies = [
        ("pacts", "0010_user_can_receive_messages"),
    ]

    operations = [
        # Runs last when migrating backwards, after SQLite's rebuild of pact_days.
        VendorRunSQL("sqlite", migrations.RunSQL.noop, _RECREATE_DAYS_TRIGGER),
        migrations.AddField(
            model_name="pactday",
            name="approved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="Break",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "start_date",
                    models.DateField(help_text="The first day off, in the pact's zone."),
                ),
                ("end_date", models.DateField(help_text="The last day off (inclusive).")),
                ("reason", models.CharField(blank=True, default="", max_length=500)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("PROPOSED", "Proposed"),
                            ("APPROVED", "Approved"),
                            ("DECLINED", "Declined"),
                            ("ENDED", "Ended"),
                            ("CANCELLED", "Cancelled"),
                            ("LAPSED", "Lapsed"),
                        ],
                        default="PROPOSED",
                        max_length=20,
                    ),
                ),
                ("answered_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
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
                (
                    "ended_by_user",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "pact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="breaks",
                        to="pacts.pact",
                    ),
                ),
                (
                    "proposed_by_user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "pact_breaks",
                "ordering": ["-start_date", "-created_at"],
            },
        ),
        migrations.AddField(
            model_name="pactday",
            name="on_break",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="break_days",
                to="pacts.break",
            ),
        ),
        migrations.AddIndex(
            model_name="pactday",
            index=models.Index(
                condition=models.Q(("on_break__isnull", False)),
                fields=["on_break"],
                name="idx_pact_days_on_break",
            ),
        ),
        migrations.AddIndex(
            model_name="break",
            index=models.Index(fields=["proposed_by_user"], name="idx_pact_breaks_proposed_by"),
        ),
        migrations.AddIndex(
            model_name="break",
            index=models.Index(
                condition=models.Q(("answered_by_user__isnull", False)),
                fields=["answered_by_user"],
                name="idx_pact_breaks_answered_by",
            ),
        ),
        migrations.AddIndex(
            model_name="break",
            index=models.Index(
                condition=models.Q(("ended_by_user__isnull", False)),
                fields=["ended_by_user"],
                name="idx_pact_breaks_ended_by",
            ),
        ),
        migrations.AddConstraint(
            model_name="break",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        ["PROPOSED", "APPROVED", "DECLINED", "ENDED", "CANCELLED", "LAPSED"],
                    )
                ),
                name="pact_breaks_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="break",
            constraint=models.CheckConstraint(
                condition=models.Q(("end_date__gte", models.F("start_date"))),
                name="pact_breaks_end_not_before_start",
            ),
        ),
        migrations.AddConstraint(
            model_name="break",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    pacts.breaks.DaysBetween(models.F("start_date"), models.F("end_date")), 29
                ),
                name="pact_breaks_at_most_30_days",
            ),
        ),
        migrations.AddConstraint(
            model_name="break",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["PROPOSED", "APPROVED"])),
                fields=("pact",),
                name="pact_breaks_one_open_per_pact",
            ),
        ),
        *updated_at_triggers("pact_breaks"),
    ]
