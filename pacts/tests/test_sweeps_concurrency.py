"""Sweeps on PostgreSQL with real threads and row locks: two workers, a dying worker."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Event

import pytest
import time_machine
from django.db import connection, transaction

from conftest import make_active_pact, make_user, run_together
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts import sweeps
from pacts.models import PactDay
from pacts.sweeps import process_deadlines, send_reminders, send_weekly_summaries

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

MONDAY_9 = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def pacts():
    alex, sam = make_user("Alex"), make_user("Sam")
    with time_machine.travel(MONDAY_9, tick=False):
        return [make_active_pact(alex, sam, title=f"P{i}") for i in range(40)]


def test_four_deadline_sweeps_at_once_miss_each_day_exactly_once(pacts):
    with time_machine.travel(datetime(2025, 1, 20, 21, 5, tzinfo=UTC), tick=False):
        results = run_together(4, lambda _: process_deadlines(batch_size=6))
    assert sum(results) == 40
    assert PactDay.objects.filter(status="MISSED").count() == 40
    assert LedgerEntry.objects.filter(type="FORFEIT").count() == 40
    assert OutboxMessage.objects.filter(kind="missed").count() == 80


def test_a_sweep_skips_the_rows_a_dying_worker_holds_and_the_rerun_takes_them(pacts):
    """Worker A claims a batch and dies before committing; worker B runs meanwhile."""
    deadline_passed = datetime(2025, 1, 20, 21, 5, tzinfo=UTC)
    claimed, killed = Event(), Event()

    def dying_worker():
        try:
            with transaction.atomic():
                sweeps._miss_due_batch_sql(deadline_passed, 15)
                claimed.set()
                killed.wait(timeout=30)
                raise SystemExit("killed")
        except SystemExit:
            return "died"
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        dying = pool.submit(dying_worker)
        assert claimed.wait(timeout=30)
        assert process_deadlines(deadline_passed) == 25  # A's 15 are locked: skipped
        killed.set()
        assert dying.result() == "died"
    assert LedgerEntry.objects.count() == 25
    assert process_deadlines(deadline_passed) == 15  # the rerun takes what A dropped
    assert process_deadlines(deadline_passed) == 0
    assert LedgerEntry.objects.filter(type="FORFEIT").count() == 40
    assert OutboxMessage.objects.filter(kind="missed").count() == 80


def test_two_reminder_sweeps_at_once_remind_each_day_once(pacts):
    with time_machine.travel(datetime(2025, 1, 20, 20, 10, tzinfo=UTC), tick=False):
        results = run_together(3, lambda _: send_reminders(batch_size=7))
    assert sum(results) == 40
    assert OutboxMessage.objects.filter(kind="reminder").count() == 40
    assert PactDay.objects.filter(reminded_at__isnull=False).count() == 40


def test_two_summary_sweeps_at_once_send_one_summary_per_user(pacts):
    with time_machine.travel(datetime(2025, 1, 26, 18, 0, tzinfo=UTC), tick=False):
        results = run_together(3, lambda _: send_weekly_summaries())
    assert sum(results) == 2
    summaries = OutboxMessage.objects.filter(kind="weekly_summary")
    assert summaries.count() == 2
    assert all(len(m.payload["pacts"]) == 40 for m in summaries)
