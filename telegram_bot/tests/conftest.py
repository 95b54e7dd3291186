"""Fixtures for the bot's tests: a fake Bot API over real HTTP, and update builders."""

from __future__ import annotations

import itertools

import pytest

from outbox.models import OutboxMessage
from pacts.models import User

from .fake_bot_api import FakeBotApi

WEBHOOK_SECRET = "s3cret-token_for-tests"


@pytest.fixture
def fake_api(settings):
    """A running fake Bot API; settings point the bot at it (token, URL, short timeouts)."""
    api = FakeBotApi().start()
    settings.TELEGRAM_BOT_TOKEN = api.token
    settings.TELEGRAM_API_URL = api.url
    settings.TELEGRAM_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.TELEGRAM_REQUEST_TIMEOUT = 0.5
    settings.WEBAPP_URL = "https://app.example.com"
    yield api
    api.stop()


_update_ids = itertools.count(500_000)


def tg_user(user: User) -> dict:
    """The Bot API `User` object Telegram puts in an update's `from`."""
    return {
        "id": user.telegram_user_id,
        "is_bot": False,
        "first_name": user.display_name,
        "username": user.username,
        "language_code": user.language_code or "en",
    }


def message_update(user: User, text: str, *, chat_type: str = "private", update_id=None) -> dict:
    sender = tg_user(user)
    chat = (
        {"id": user.telegram_user_id, "type": "private", "first_name": user.display_name}
        if chat_type == "private"
        else {"id": -100123, "type": chat_type, "title": "Gym buddies"}
    )
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if text.startswith("/")
        else []
    )
    return {
        "update_id": update_id or next(_update_ids),
        "message": {
            "message_id": 7,
            "date": 1737363600,
            "chat": chat,
            "from": sender,
            "text": text,
            "entities": entities,
        },
    }


def callback_update(user: User, data: str, *, text: str = "🕒 Habit check!", markup=None) -> dict:
    """A button press by `user` on a message the bot sent them."""
    keyboard = markup or {"inline_keyboard": [[{"text": "Go", "callback_data": data}]]}
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": f"cq{next(_update_ids)}",
            "from": tg_user(user),
            "chat_instance": "42",
            "data": data,
            "message": {
                "message_id": 77,
                "date": 1737363600,
                "chat": {"id": user.telegram_user_id, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "HabitPact"},
                "text": text,
                "reply_markup": keyboard,
            },
        },
    }


def outbox_for(user: User, kind: str) -> OutboxMessage:
    return OutboxMessage.objects.get(user=user, kind=kind)
