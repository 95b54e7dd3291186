"""A python-telegram-bot `Bot` that sync Django code can call.

PTB is asyncio-only and an initialised `Bot` (its httpx client) must not be used from
more than one event loop (PTB #4023). A `BotSession` therefore owns a private event loop
and one `Bot` bound to it, runs every call on that loop, and is closed when the
request, command or drain that made it is done. Database work happens between calls,
never while the loop runs, so Django's ORM stays in plain sync code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from django.conf import settings
from telegram import Bot
from telegram.request import HTTPXRequest

T = TypeVar("T")


def bot_configured() -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN)


class BotSession:
    """One event loop + one Bot. Use as a context manager; not shared across threads."""

    def __init__(
        self,
        *,
        token: str | None = None,
        api_url: str | None = None,
        read_timeout: float | None = None,
        pool_size: int = 64,
    ):
        token = token or settings.TELEGRAM_BOT_TOKEN
        if not token:
            raise RuntimeError("TELEGRAM_BOT_TOKEN is not set.")
        api_url = (api_url or settings.TELEGRAM_API_URL).rstrip("/")
        timeout = (
            read_timeout
            if read_timeout is not None
            else getattr(settings, "TELEGRAM_REQUEST_TIMEOUT", 10.0)
        )
        self.loop = asyncio.new_event_loop()
        self._request = HTTPXRequest(
            connection_pool_size=pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=min(timeout, 5.0),
            pool_timeout=timeout,
        )
        # getUpdates long-polls, so it gets its own client with a longer read timeout.
        self._updates_request = HTTPXRequest(
            connection_pool_size=1, read_timeout=timeout + 30, connect_timeout=5.0
        )
        self.bot = Bot(
            token,
            base_url=f"{api_url}/bot",
            request=self._request,
            get_updates_request=self._updates_request,
        )

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def call(self, method: str, **kwargs: Any) -> Any:
        """`session.call("send_message", chat_id=1, text="hi")` = `await bot.send_message(...)`."""
        return self.run(getattr(self.bot, method)(**kwargs))

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.run(self._request.shutdown())
            self.run(self._updates_request.shutdown())
        finally:
            self.loop.close()

    def __enter__(self) -> BotSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
