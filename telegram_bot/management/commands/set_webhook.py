"""Register (or remove) the bot's webhook with Telegram: setWebhook with the secret, then
the bot's menu and descriptions in every language (telegram_bot/menu.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from telegram_bot.client import BotSession
from telegram_bot.menu import publish_profile

# inline_query: `@<bot>` in any chat (switch inline mode on with @BotFather's /setinline);
# my_chat_member: the user blocked or unblocked the bot (rule 17).
ALLOWED_UPDATES = ["message", "callback_query", "inline_query", "my_chat_member"]


class Command(BaseCommand):
    help = "Point Telegram at {WEBAPP_URL}/webhook/tg with TELEGRAM_WEBHOOK_SECRET (setWebhook)."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Public base URL (default: WEBAPP_URL).")
        parser.add_argument(
            "--delete", action="store_true", help="Remove the webhook (deleteWebhook) instead."
        )
        parser.add_argument(
            "--drop-pending", action="store_true", help="Discard updates Telegram is holding."
        )

    def handle(self, *args, url=None, delete=False, drop_pending=False, **options):
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("Set TELEGRAM_BOT_TOKEN first.")
        with BotSession() as session:
            if delete:
                session.call("delete_webhook", drop_pending_updates=drop_pending)
                self.stdout.write(self.style.SUCCESS("Webhook removed."))
                return
            if not settings.TELEGRAM_WEBHOOK_SECRET:
                raise CommandError(
                    "Set TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -): the webhook "
                    "refuses every update without it."
                )
            target = (url or settings.WEBAPP_URL).rstrip("/") + reverse("telegram_webhook")
            if not target.startswith("https://"):
                raise CommandError(f"Telegram only calls HTTPS webhooks, not {target}.")
            session.call(
                "set_webhook",
                url=target,
                secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=drop_pending,
            )
            languages = publish_profile(session)
        self.stdout.write(self.style.SUCCESS(f"Webhook set: {target}"))
        self.stdout.write(f"Menu and descriptions set for: {', '.join(languages)}")
