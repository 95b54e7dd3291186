"""Send due outbox messages to Telegram; `--loop` keeps sending: woken by PostgreSQL's
NOTIFY the moment an outbox row commits, and polling every `--interval` seconds as the
fallback (and on SQLite)."""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from telegram_bot.delivery import Drain, sender_lock
from telegram_bot.wakeup import OutboxWaiter, serve

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Deliver the outbox once, or keep delivering with --loop (a Procfile process)."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep polling for new rows.")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between polls when idle (NOTIFY wakes it sooner on PostgreSQL).",
        )
        parser.add_argument(
            "--poll-only",
            action="store_true",
            help="Do not LISTEN (e.g. behind a transaction-pooling PgBouncer): poll only.",
        )

    def handle(self, *args, loop=False, interval=1.0, poll_only=False, **options):
        drain = Drain()
        try:
            if not loop:
                report = drain.run()
                self.stdout.write(str(report.as_dict()))
                return
            self._loop(drain, interval, notify=not poll_only)
        finally:
            drain.close()

    def _loop(self, drain: Drain, interval: float, *, notify: bool = True) -> None:
        """Hold the sender lock for the process's life (so its rate limits are the only
        ones in play) and drain whenever something is due."""
        while True:
            try:
                close_old_connections()
                with sender_lock() as got:
                    if not got:
                        log.info("outbox_sender_busy")
                        time.sleep(5 * interval)
                        continue
                    waiter = OutboxWaiter(use_notify=None if notify else False)
                    serve(drain, waiter, interval=interval)
            except KeyboardInterrupt:
                return
            except Exception:
                log.exception("outbox_loop_error")
                connection.close()
                time.sleep(5 * interval)
