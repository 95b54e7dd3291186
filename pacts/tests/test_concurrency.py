"""Two requests at once end in exactly one valid outcome: real threads, real row locks."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from conftest import make_active_pact, make_user, run_together
from habitpact.errors import DomainError
from ledger.actions import settlement_confirm, settlement_propose
from ledger.models import LedgerEntry, Settlement
from outbox.models import OutboxMessage
from pacts.actions import day_for
from pacts.models import PactDay
from pacts.sweeps import process_deadlines

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

MONDAY_9 = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def people():
    return make_user("Alex"), make_user("Sam")


def test_many_identical_check_ins_make_one_done_day_and_one_notification(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)

        def check_in(_):
            day = day_for(pact, date(2025, 1, 20))
            return day.check_in(alex, note="gym", idempotency_key="tap-1")

        results = run_together(20, check_in)
    assert all(isinstance(r, PactDay) for r in results), results
    assert {r.checked_in_at for r in results} == {MONDAY_9}
    assert PactDay.objects.filter(status="DONE").count() == 1
    assert OutboxMessage.objects.filter(kind="checkin_confirmed").count() == 1


def test_check_in_racing_the_deadline_sweep_never_ends_both_done_and_missed(people):
    alex, sam = people
    deadline = datetime(2025, 1, 20, 21, 0, tzinfo=UTC)
    with time_machine.travel(MONDAY_9, tick=False):
        pacts = [make_active_pact(alex, sam, title=f"P{i}") for i in range(10)]
    # The check-ins were sent a moment before the deadline; the sweep runs at it.
    with time_machine.travel(deadline, tick=False):

        def act(i):
            if i == 0:
                return process_deadlines()
            day = day_for(pacts[i - 1], date(2025, 1, 20))
            return day.check_in(alex, now=deadline - timedelta(milliseconds=1))

        results = run_together(11, act)
        process_deadlines()  # whatever the sweep skipped while locked
    days = PactDay.objects.filter(date=date(2025, 1, 20))
    for day in days:
        forfeits = LedgerEntry.objects.filter(pact_day=day, type="FORFEIT").count()
        assert (day.status, forfeits) in {("DONE", 0), ("MISSED", 1)}, (day.status, forfeits)
    for result in results[1:]:
        assert isinstance(result, (PactDay, DomainError)), result


def test_two_sweeps_at_once_miss_each_day_exactly_once(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        for i in range(30):
            make_active_pact(alex, sam, title=f"P{i}")
    with time_machine.travel(datetime(2025, 1, 20, 21, 5, tzinfo=UTC), tick=False):
        results = run_together(3, lambda _: process_deadlines(batch_size=7))
    assert sum(results) == 30
    assert LedgerEntry.objects.filter(type="FORFEIT").count() == 30
    assert OutboxMessage.objects.filter(kind="missed").count() == 60


def test_both_parties_confirming_at_once_write_one_settlement_entry(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        pact = make_active_pact(alex, sam)
        clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
        process_deadlines()
        settlement = settlement_propose(pact, alex)

        def confirm(i):
            fresh = Settlement.objects.get(pk=settlement.pk)
            return settlement_confirm(fresh, sam if i % 2 else alex)

        run_together(6, confirm)
    assert LedgerEntry.objects.filter(type="SETTLEMENT").count() == 1
    assert Settlement.objects.get().status == "CONFIRMED"


def test_two_proposals_at_once_leave_one_pending_settlement(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        pact = make_active_pact(alex, sam)
        clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
        process_deadlines()
        results = run_together(4, lambda i: settlement_propose(pact, sam if i % 2 else alex))
    assert sum(isinstance(r, Settlement) for r in results) == 1
    assert Settlement.objects.filter(status="PENDING").count() == 1


def test_a_waiver_racing_the_settlement_of_the_same_miss_never_takes_the_tab_below_zero(people):
    """Rule 14 under the lock: the confirmation holds the pact's row and has written the
    SETTLEMENT; the waiver waits for it, then sees a balance of 0 and is refused."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Event

    from django.db import connection, transaction

    from conftest import wait_until_blocked_on_a_lock
    from pacts.actions import balance_of

    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        pact = make_active_pact(alex, sam)
        clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
        process_deadlines()
        settlement = settlement_propose(pact, alex)
    settled, release = Event(), Event()

    def confirm():
        try:
            with transaction.atomic():
                settlement_confirm(Settlement.objects.get(pk=settlement.pk), sam)
                settled.set()
                assert release.wait(timeout=30)
        finally:
            connection.close()

    def waive():
        try:
            assert settled.wait(timeout=30)
            return day_for(pact, date(2025, 1, 20)).waive(sam)
        except DomainError as refusal:
            return refusal
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        confirming = pool.submit(confirm)
        waiving = pool.submit(waive)
        wait_until_blocked_on_a_lock(waiving)  # the waiver waits on the pact's row
        release.set()
        confirming.result()
        result = waiving.result()
    assert isinstance(result, DomainError) and result.code == "WAIVE_EXCEEDS_BALANCE", result
    assert balance_of(pact) == 0
    assert not LedgerEntry.objects.filter(type="WAIVER").exists()
