"""Migration 0011 (breaks, "Looks good"): the database keeps `updated_at` on the new
table and on `pact_days`, forwards and backwards, on both engines (the SQLite trap: a
table rebuild drops its trigger)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection

from pacts.breaks import Break, break_propose
from pacts.models import PactDay

BEFORE = "0010_user_can_receive_messages"


def triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_bulk_updates_move_updated_at_on_breaks_and_days(clock, pact, partner):
    brk, _ = break_propose(pact, partner, start_date=date(2025, 1, 21), end_date=date(2025, 1, 21))
    day = PactDay.objects.get(pact=pact, date=date(2025, 1, 20))
    before = (Break.objects.get(pk=brk.pk).updated_at, day.updated_at)
    clock.shift(60)
    Break.objects.filter(pk=brk.pk).update(reason="Moved")
    PactDay.objects.filter(pk=day.pk).update(checkin_note="x")
    after = (Break.objects.get(pk=brk.pk).updated_at, PactDay.objects.get(pk=day.pk).updated_at)
    assert after[0] > before[0] and after[1] > before[1]


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_keeps_the_pact_days_trigger():
    assert {"pact_days_updated_at", "pact_breaks_updated_at"} <= triggers()
    call_command("migrate", "pacts", BEFORE, verbosity=0)
    assert "pact_days_updated_at" in triggers()
    assert "pact_breaks_updated_at" not in triggers()
    call_command("migrate", "pacts", verbosity=0)
    assert {"pact_days_updated_at", "pact_breaks_updated_at"} <= triggers()
