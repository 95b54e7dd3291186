"""Long polling for local development (no public URL needed): getUpdates → handlers.

Removes any webhook first (Telegram refuses getUpdates while one is set). Each update is
claimed in ProcessedUpdate before handling, so a restart that sees an update again skips
it. Outbox delivery is separate: run `manage.py deliver_outbox --loop` beside this.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from telegram_bot.client import BotSession
from telegram_bot.handlers import process_update
from telegram_bot.management.commands.set_webhook import ALLOWED_UPDATES

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the bot with long polling (local development)."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=25, help="Long-poll seconds.")
        parser.add_argument(
            "--once", action="store_true", help="Handle one batch of updates, then exit."
        )

    def handle(self, *args, timeout=25, once=False, **options):
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("Set TELEGRAM_BOT_TOKEN first (from @BotFather).")
        offset = None
        with BotSession() as session:
            session.call("delete_webhook")
            self.stdout.write("Polling for updates (Ctrl-C to stop)...")
            while True:
                try:
                    updates = session.call(
                        "get_updates",
                        offset=offset,
                        timeout=0 if once else timeout,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                except KeyboardInterrupt:
                    break
                except Exception:
                    log.exception("polling_error")
                    if once:
                        raise
                    continue
                for update in updates:
                    if not connection.in_atomic_block:  # (tests run inside one)
                        close_old_connections()  # as a request would: drop dead connections
                    process_update(update.to_dict(), session=session)
                    offset = update.update_id + 1
                if once:
                    if offset is not None:  # confirm the batch so Telegram drops it
                        session.call("get_updates", offset=offset, timeout=0)
                    break
