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


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    if not _secret_ok(request):
        log.warning("webhook_bad_secret", extra={"remote_addr": request.META.get("REMOTE_ADDR")})
        return JsonResponse({"ok": False, "error": "forbidden"}, status=403)
    try:
        data = json.loads(request.body)
        int(data["update_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"ok": False, "error": "not a Telegram update"}, status=400)
    handled = process_update(data)
    return JsonResponse({"ok": True, "duplicate": not handled})
