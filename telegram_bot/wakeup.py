"""Wake the sender the moment outbox rows commit (PostgreSQL LISTEN/NOTIFY), with the
one-second poll kept as the fallback and as the only way on SQLite.

Migration `telegram_bot/0002_outbox_notify` adds a statement-level AFTER INSERT trigger
on `outbox` that runs `pg_notify('outbox', '')`. NOTIFY is delivered at COMMIT, so a
woken sender always finds the rows; a rolled-back insert wakes no one.

No wake-up can be lost: the sender LISTENs before its first drain, and psycopg keeps the
notifications that arrive while it is draining (its `notifies()` backlog), so a row
committed between "found nothing" and "start waiting" ends the next wait at once.
Rows that become due later (a retry's backoff, a 429's retry_after) insert nothing;
the poll finds them within `interval`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import connection

from .delivery import Drain

log = logging.getLogger(__name__)

CHANNEL = "outbox"


class OutboxWaiter:
    """`wait(timeout)` returns True as soon as an outbox insert has committed (on
    PostgreSQL), False when `timeout` seconds passed without one (the poll)."""

    def __init__(
        self, *, use_notify: bool | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        self.use_notify = connection.vendor == "postgresql" if use_notify is None else use_notify
        self.sleep = sleep
        self._listening_on = None  # the psycopg connection that ran LISTEN

    def listen(self) -> None:
        """LISTEN on this thread's database connection (again after a reconnect). Call
        before draining, so that nothing committed during the drain is missed."""
        if not self.use_notify:
            return
        connection.ensure_connection()
        if self._listening_on is not connection.connection:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
            self._listening_on = connection.connection

    def wait(self, timeout: float) -> bool:
        if not self.use_notify:
            self.sleep(timeout)
            return False
        if self._listening_on is not connection.connection or connection.connection is None:
            # A new connection: whatever was notified on the old one is gone, so
            # listen again and drain once rather than wait.
            self.listen()
            return True
        raw = connection.connection
        woken = any(True for _ in raw.notifies(timeout=timeout, stop_after=1))
        if woken:
            for _ in raw.notifies(timeout=0):  # the rest of the backlog: one drain serves all
                pass
        return woken


def serve(
    drain: Drain,
    waiter: OutboxWaiter,
    *,
    interval: float = 1.0,
    rounds: int | None = None,
    max_seconds: float = 60.0,
) -> None:
    """The `deliver_outbox --loop` body, for a caller that holds the sender lock: drain,
    and when nothing was due wait for a NOTIFY or `interval` seconds, whichever comes
    first. `rounds`: stop after that many drains (tests); None = forever."""
    waiter.listen()
    done = 0
    while rounds is None or done < rounds:
        report = drain.drain_locked(max_seconds=max_seconds)
        done += 1
        if not report.batches and (rounds is None or done < rounds):
            waiter.wait(interval)
