"""POST /webhook/tg: Telegram's updates, guarded by the secret token set with setWebhook.

Answers 403 to a wrong or missing `X-Telegram-Bot-Api-Secret-Token` (compared in
constant time; an unset TELEGRAM_WEBHOOK_SECRET refuses everything), 400 to a body that
is not an update, and 200 otherwise, including for a duplicate and for an update whose
handler failed (the user was told; a non-2xx would only make Telegram resend it). The
work is a few queries and one or two Bot API calls with short timeouts, so the answer
comes back well inside Telegram's patience.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .handlers import process_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _secret_ok(request: HttpRequest) -> bool:
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get(SECRET_HEADER, "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


# update_id is stored in a bigint column; Telegram's are far smaller.
MAX_UPDATE_ID = 2**63 - 1


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_or_none(body: bytes) -> object:
    """The body as JSON, or None: not JSON, NaN/Infinity, or nested deeper than
    Python's stack (json.loads raises RecursionError, which would be a 500)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None


def is_update(data: object) -> bool:
    """An object whose update_id is a JSON integer that fits our column (not "123",
    1.0, true or 2**63)."""
    if not isinstance(data, dict):
        return False
    update_id = data.get("update_id")
    return type(update_id) is int and 0 <= update_id <= MAX_UPDATE_ID


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    if not _secret_ok(request):
        log.warning("webhook_bad_secret", extra={"remote_addr": request.META.get("REMOTE_ADDR")})
        return JsonResponse({"ok": False, "error": "forbidden"}, status=403)
    if not is_update(data := _json_or_none(request.body)):
        return JsonResponse({"ok": False, "error": "not a Telegram update"}, status=400)
    handled = process_update(data)
    return JsonResponse({"ok": True, "duplicate": not handled})
