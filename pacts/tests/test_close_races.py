"""Closing a pact races the jobs and a check-in: real threads, real row locks (PostgreSQL).

Each test holds one transaction open at the moment that matters (an Event), waits until
the other session is blocked on its row lock (`pg_stat_activity`), then lets it go, so
the interleaving that used to leak is forced every run instead of hoped for.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from threading import Event

import pytest
import time_machine
from django.db import connection, transaction

from conftest import make_active_pact, make_user, wait_until_blocked_on_a_lock
from pacts.actions import pact_end
from pacts.models import Pact, PactDay
from pacts.privacy import user_delete
from pacts.sweeps import materialize_days

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

MONDAY_9 = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
WEDNESDAY_9 = datetime(2025, 1, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def people():
    return make_user("Alex"), make_user("Sam")


def _in_thread(fn):
    def run():
        try:
            return fn()
        finally:
            connection.close()

    return run


def test_a_check_in_that_answered_done_is_never_deleted_by_a_concurrent_end(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
    checked_in, release = Event(), Event()

    def check_in():
        with transaction.atomic():
            day = PactDay.objects.get(pact=pact, date=date(2025, 1, 20))
            day.pact = pact
            result = day.check_in(alex, now=MONDAY_9)
            checked_in.set()
            assert release.wait(timeout=30)
        return result  # committed: the user sees 200 DONE

    def end():
        assert checked_in.wait(timeout=30)
        return pact_end(Pact.objects.get(pk=pact.pk), sam, now=MONDAY_9)

    with ThreadPoolExecutor(2) as pool:
        done = pool.submit(_in_thread(check_in))
        ended = pool.submit(_in_thread(end))
        wait_until_blocked_on_a_lock(ended)  # the end waits on the checked-in day's row
        release.set()
        assert done.result().status == PactDay.Status.DONE
        assert ended.result().status == Pact.Status.ENDED
    assert dict(PactDay.objects.filter(pact=pact).values_list("date", "status")) == {
        date(2025, 1, 20): "DONE"
    }


def test_the_materialize_job_holding_a_stale_active_pact_adds_no_days_to_it(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
    ended, release = Event(), Event()

    def end():
        with transaction.atomic():
            pact_end(Pact.objects.get(pk=pact.pk), sam, now=MONDAY_9)
            ended.set()
            assert release.wait(timeout=30)

    def materialize():
        assert ended.wait(timeout=30)  # the end is not committed: the job sees ACTIVE
        return materialize_days(WEDNESDAY_9)

    with ThreadPoolExecutor(2) as pool:
        ending = pool.submit(_in_thread(end))
        job = pool.submit(_in_thread(materialize))
        wait_until_blocked_on_a_lock(job)  # the job waits on the ending pact's row
        release.set()
        ending.result()
        assert job.result() == 0
    assert not PactDay.objects.filter(pact=pact).exists()
    assert Pact.objects.get(pk=pact.pk).status == Pact.Status.ENDED


@pytest.mark.parametrize("close", ["end", "delete account"])
def test_closing_while_the_deadline_sweep_holds_the_day_misses_it_once(people, close):
    """The sweep has claimed the overdue day and not committed; the close waits for it,
    then finds the day decided. Neither deadlocks (the sweep's ledger rows point at the
    pact and the users, whose rows the close holds) nor writes a second forfeit."""
    from ledger.models import LedgerEntry
    from pacts import sweeps

    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
    after_deadline = datetime(2025, 1, 20, 21, 5, tzinfo=UTC)
    claimed, release = Event(), Event()

    def sweep():
        with transaction.atomic():
            taken = sweeps._miss_due_batch_sql(after_deadline, 100)
            claimed.set()
            assert release.wait(timeout=30)
        return taken

    def end():
        assert claimed.wait(timeout=30)
        if close == "end":
            pact_end(Pact.objects.get(pk=pact.pk), sam, now=after_deadline)
        else:
            user_delete(sam, now=after_deadline)

    with ThreadPoolExecutor(2) as pool:
        swept = pool.submit(_in_thread(sweep))
        ended = pool.submit(_in_thread(end))
        wait_until_blocked_on_a_lock(ended)  # the close waits on the claimed day's row
        release.set()
        assert swept.result() == 1
        ended.result()
    assert Pact.objects.get(pk=pact.pk).status == Pact.Status.ENDED
    assert dict(PactDay.objects.filter(pact=pact).values_list("date", "status")) == {
        date(2025, 1, 20): "MISSED"
    }
    assert LedgerEntry.objects.filter(pact=pact, type="FORFEIT").count() == 1
