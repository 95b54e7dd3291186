"""The sender's wake-up: a committed outbox row ends its wait at once on PostgreSQL
(LISTEN/NOTIFY from the trigger of migration 0002), and the poll still finds what no
insert announces (a retry falling due) and is all SQLite has."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from outbox.models import OutboxMessage, notify
from pacts.actions import day_for
from telegram_bot.delivery import Drain, LogTransport
from telegram_bot.wakeup import OutboxWaiter, serve

MONDAY = date(2025, 1, 20)


def in_thread(fn) -> None:
    """Run fn on another thread, hence another database connection, and wait for it."""
    errors: list[BaseException] = []

    def run():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_committed_check_in_wakes_the_waiting_sender(pact, initiator):
    waiter = OutboxWaiter()
    waiter.listen()
    assert waiter.wait(timeout=0) is False  # the pact's own rows came before LISTEN
    in_thread(lambda: day_for(pact, MONDAY).check_in(initiator))
    assert OutboxMessage.objects.filter(kind="checkin_confirmed").exists()
    assert waiter.wait(timeout=10) is True
    # One transaction, one wake: the backlog is emptied, the next wait is a poll again.
    assert waiter.wait(timeout=0) is False


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_insert_wakes_no_one_until_it_commits_and_a_rollback_never(initiator):
    waiter = OutboxWaiter()
    waiter.listen()
    inserted, commit = threading.Event(), threading.Event()

    def write(key: str, *, roll_back: bool) -> None:
        with transaction.atomic():
            notify(initiator, "pact_accepted", key, pact_id="x")
            inserted.set()
            commit.wait()
            if roll_back:
                transaction.set_rollback(True)

    thread = threading.Thread(target=lambda: in_thread(lambda: write("a", roll_back=False)))
    thread.start()
    inserted.wait()
    assert waiter.wait(timeout=0.2) is False  # inserted, not yet committed
    commit.set()
    thread.join()
    assert waiter.wait(timeout=10) is True

    in_thread(lambda: write("b", roll_back=True))
    assert waiter.wait(timeout=0.2) is False
    assert OutboxMessage.objects.filter(user=initiator).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_committed_while_the_sender_was_draining_is_not_missed(initiator):
    waiter = OutboxWaiter()
    waiter.listen()
    # The drain runs (finds nothing) ... and a row commits before the wait starts.
    Drain(transport=LogTransport()).drain_locked()
    in_thread(lambda: notify(initiator, "pact_accepted", "late", pact_id="x"))
    assert waiter.wait(timeout=10) is True


class PollOnly:
    """A waiter that never hears a NOTIFY: each wait is a full poll interval, passed on
    the test's clock."""

    def __init__(self, clock):
        self.clock = clock
        self.waits: list[float] = []

    def listen(self) -> None:
        pass

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.clock.shift(timedelta(seconds=timeout))
        return False


def test_the_poll_finds_a_retry_that_fell_due_without_any_insert(clock, pact, initiator):
    row = OutboxMessage.objects.get(user=initiator)
    OutboxMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=30)
    )
    waiter = PollOnly(clock)
    drain = Drain(transport=LogTransport())
    serve(drain, waiter, interval=20, rounds=3)
    row.refresh_from_db()
    assert (row.status, waiter.waits) == ("SENT", [20, 20])


def test_without_notify_the_wait_is_the_poll_interval():
    slept: list[float] = []
    waiter = OutboxWaiter(use_notify=False, sleep=slept.append)
    waiter.listen()
    assert waiter.wait(timeout=1.0) is False
    assert slept == [1.0]
