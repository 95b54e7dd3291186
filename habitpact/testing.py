"""Test helpers shared by every app's tests: validly signed Telegram initData."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from django.conf import settings


def sign_init_data(
    user: dict | None = None,
    *,
    bot_token: str | None = None,
    auth_date: int | None = None,
    **extra: str,
) -> str:
    """initData as Telegram's clients send it, signed with `bot_token` (default: the
    configured token). `user` is JSON-encoded the way Telegram does (slashes escaped)."""
    bot_token = settings.TELEGRAM_BOT_TOKEN if bot_token is None else bot_token
    fields = {"auth_date": str(int(time.time()) if auth_date is None else auth_date), **extra}
    if user is not None:
        fields["user"] = json.dumps(user, ensure_ascii=False, separators=(",", ":")).replace(
            "/", "\\/"
        )
    check_string = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def tg_user(user) -> dict:
    """The `user` object Telegram would send for one of our User rows."""
    return {
        "id": user.telegram_user_id,
        "first_name": user.display_name,
        "username": user.username,
        "language_code": user.language_code or "en",
        "photo_url": "https://t.me/i/userpic/320/abc.jpg",
    }
